// Pure parts of the load generator (bench/load/load.h): option parsing, the
// latency histogram's percentiles, the operation mix, response parsing.
#include "load.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace mamute::load {
namespace {

std::expected<Options, std::string> Parse(std::vector<std::string_view> args) {
  return ParseOptions(args, "AK", "SK");
}

TEST(ParseSize, Table) {
  struct Case {
    std::string_view in;
    uint64_t want;
  } cases[] = {{"0", 0},          {"4096", 4096},          {"4KiB", 4096},      {"4k", 4096},
               {"1MiB", 1 << 20}, {"16M", 16 << 20},       {"1GiB", 1ull << 30}, {"7B", 7}};
  for (const auto& c : cases) {
    auto r = ParseSize(c.in);
    ASSERT_TRUE(r.has_value()) << c.in;
    EXPECT_EQ(*r, c.want) << c.in;
  }
  for (std::string_view bad : {"", "k", "4x", "-1", "4 KiB", "99999999999999999999G"}) {
    EXPECT_FALSE(ParseSize(bad).has_value()) << bad;
  }
}

TEST(ParseDuration, Table) {
  EXPECT_DOUBLE_EQ(*ParseDuration("10"), 10);
  EXPECT_DOUBLE_EQ(*ParseDuration("2.5s"), 2.5);
  EXPECT_DOUBLE_EQ(*ParseDuration("500ms"), 0.5);
  EXPECT_DOUBLE_EQ(*ParseDuration("2m"), 120);
  for (std::string_view bad : {"", "s", "10h", "-1", "nan"}) {
    EXPECT_FALSE(ParseDuration(bad).has_value()) << bad;
  }
}

TEST(ParseOptions, DefaultsAndValues) {
  auto o = Parse({"--bucket", "b"});
  ASSERT_TRUE(o.has_value()) << o.error();
  EXPECT_EQ(o->workload, Workload::kPut);
  EXPECT_EQ(o->object_size, 4096u);
  EXPECT_EQ(o->concurrency, 16u);
  EXPECT_EQ(o->access_key, "AK");
  EXPECT_EQ(o->mix.weight(OpKind::kGet), 45u);
  EXPECT_EQ(o->mix.weight(OpKind::kDelete), 10u);

  o = Parse({"--op=mixed", "--bucket=b", "--size", "1MiB", "--concurrency", "64", "--duration",
             "2s", "--objects", "10", "--payload", "chunked", "--prefix", "x/", "--json", "r.json",
             "--access-key", "K2", "--no-progress", "--mix", "get=1,put=3", "--no-prepare"});
  ASSERT_TRUE(o.has_value()) << o.error();
  EXPECT_EQ(o->workload, Workload::kMixed);
  EXPECT_EQ(o->object_size, 1u << 20);
  EXPECT_EQ(o->concurrency, 64u);
  EXPECT_DOUBLE_EQ(o->duration_s, 2);
  EXPECT_EQ(o->objects, 10u);
  EXPECT_EQ(o->payload, PayloadSigning::kChunked);
  EXPECT_EQ(o->prefix, "x/");
  EXPECT_EQ(o->json_path, "r.json");
  EXPECT_EQ(o->access_key, "K2");
  EXPECT_FALSE(o->progress);
  EXPECT_TRUE(o->no_prepare);
  EXPECT_FALSE(o->presign);
  EXPECT_EQ(o->mix.total(), 4u);
  EXPECT_EQ(o->mix.weight(OpKind::kStat), 0u);

  o = ParseOptions({"--op", "get", "--anchor-url", "http://127.0.0.1:8080/4096"});
  ASSERT_TRUE(o.has_value()) << o.error();  // an anchor needs neither bucket nor keys
}

TEST(ParseOptions, Rejects) {
  const std::vector<std::vector<std::string_view>> bad = {
      {},                                           // no bucket
      {"--bucket"},                                 // missing value
      {"--bucket", "b", "--op", "copy"},            // unknown op
      {"--bucket", "b", "--concurrency", "0"},      // zero connections
      {"--bucket", "b", "--size", "big"},           // bad size
      {"--bucket", "b", "--endpoint", "https://x"}, // https is not supported
      {"--bucket", "b", "--payload", "chunked", "--presign"},
      {"--bucket", "b", "--presign=yes"},
      {"--bucket", "b", "--no-prepare=1"},
      {"--bucket", "b", "--op", "put", "--print-url"},
      {"--bucket", "b", "--frobnicate", "1"},
      {"--op", "put", "--anchor-url", "http://x/"},  // anchors only GET
      {"--bucket", "b", "--mix", "get=0"},
      {"--bucket", "b", "--mix", "head=3"},
  };
  for (const auto& args : bad) {
    EXPECT_FALSE(Parse(args).has_value()) << (args.empty() ? "" : args.back());
  }
  EXPECT_FALSE(ParseOptions({"--bucket", "b"}).has_value());  // no credentials at all
}

TEST(Mix, PickFollowsWeights) {
  Mix m;  // 45/30/15/10
  EXPECT_EQ(m.Pick(0), OpKind::kGet);
  EXPECT_EQ(m.Pick(44), OpKind::kGet);
  EXPECT_EQ(m.Pick(45), OpKind::kStat);
  EXPECT_EQ(m.Pick(74), OpKind::kStat);
  EXPECT_EQ(m.Pick(75), OpKind::kPut);
  EXPECT_EQ(m.Pick(89), OpKind::kPut);
  EXPECT_EQ(m.Pick(90), OpKind::kDelete);
  EXPECT_EQ(m.Pick(99), OpKind::kDelete);
  EXPECT_EQ(m.Pick(100), OpKind::kGet);  // wraps modulo the total
  int counts[4] = {};
  for (uint32_t r = 0; r < 100000; ++r) {
    ++counts[static_cast<int>(m.Pick(r * 2654435761u))];
  }
  EXPECT_NEAR(counts[0], 45000, 1500);
  EXPECT_NEAR(counts[1], 30000, 1500);
  EXPECT_NEAR(counts[2], 15000, 1500);
  EXPECT_NEAR(counts[3], 10000, 1500);
  Mix only_put(0, 0, 1, 0);
  for (uint32_t r : {0u, 1u, 12345u, 0xffffffffu}) {
    EXPECT_EQ(only_put.Pick(r), OpKind::kPut);
  }
}

TEST(LatencyHistogram, BucketsAreMonotoneAndTight) {
  std::size_t prev = 0;
  for (uint64_t v = 0; v < 5000000; v += 1 + v / 50) {
    std::size_t b = LatencyHistogram::BucketOf(v);
    ASSERT_GE(b, prev);
    ASSERT_LT(b, LatencyHistogram::kBuckets);
    ASSERT_GE(LatencyHistogram::BucketHigh(b), v);
    // Relative error of reporting the bucket's high edge: under 1/32.
    ASSERT_LE(LatencyHistogram::BucketHigh(b) - v, v / 32 + 1) << v;
    prev = b;
  }
  EXPECT_EQ(LatencyHistogram::BucketOf(UINT64_MAX), LatencyHistogram::kBuckets - 1);
}

TEST(LatencyHistogram, Percentiles) {
  LatencyHistogram h;
  EXPECT_EQ(h.Percentile(0.5), 0u);
  for (uint64_t v = 1; v <= 100; ++v) {
    h.Record(v * 1000);  // 1..100 ms
  }
  EXPECT_EQ(h.count(), 100u);
  EXPECT_EQ(h.max(), 100000u);
  EXPECT_EQ(h.min(), 1000u);
  EXPECT_DOUBLE_EQ(h.mean(), 50500);
  struct Case {
    double q;
    uint64_t exact;
  } cases[] = {{0.5, 50000}, {0.9, 90000}, {0.99, 99000}, {1.0, 100000}, {0.0, 1000}};
  for (const auto& c : cases) {
    uint64_t got = h.Percentile(c.q);
    EXPECT_GE(got, c.exact) << c.q;
    EXPECT_LE(got, c.exact + c.exact / 32) << c.q;
  }
  // Small values are exact; the max caps the bucket edge.
  LatencyHistogram s;
  for (uint64_t v : {3, 3, 7, 40}) {
    s.Record(v);
  }
  EXPECT_EQ(s.Percentile(0.5), 3u);
  EXPECT_EQ(s.Percentile(0.75), 7u);
  EXPECT_EQ(s.Percentile(1.0), 40u);
  // Merge adds counts.
  LatencyHistogram m;
  m.Merge(h);
  m.Merge(s);
  EXPECT_EQ(m.count(), 104u);
  EXPECT_EQ(m.min(), 3u);
  EXPECT_EQ(m.max(), 100000u);
}

TEST(Responses, ErrorCodeAndListPage) {
  EXPECT_EQ(ErrorCodeOf(404, "<Error><Code>NoSuchKey</Code><Message>x</Message></Error>"),
            "NoSuchKey");
  EXPECT_EQ(ErrorCodeOf(502, "Bad Gateway"), "HTTP 502");
  EXPECT_EQ(ErrorCodeOf(501, ""), "HTTP 501");
  ListPage p = ParseListPage(
      "<ListBucketResult><IsTruncated>true</IsTruncated><Contents><Key>a</Key></Contents>"
      "<Contents><Key>b</Key></Contents><NextContinuationToken>tok=</NextContinuationToken>"
      "</ListBucketResult>");
  EXPECT_EQ(p.keys, 2u);
  EXPECT_TRUE(p.truncated);
  EXPECT_EQ(p.next_token, "tok=");
  p = ParseListPage("<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>");
  EXPECT_EQ(p.keys, 0u);
  EXPECT_FALSE(p.truncated);
  EXPECT_EQ(p.next_token, "");
}

}  // namespace
}  // namespace mamute::load
