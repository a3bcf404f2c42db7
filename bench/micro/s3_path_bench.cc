// The per-request pieces of an S3 request around auth and hashing: the HTTP parser
// wrapper, the XML writer and the metadata key encoding. Release builds only.
//
//   HttpParse/SigV4Get        RequestParser over a typical SigV4 GET head (9 headers), items/s
//   HttpParse/PutWithBody     same with a 4 KiB Content-Length body, items/s and bytes/s
//   XmlWriter/ListPage1000    a ListObjectsV2 page of 1000 entries, bytes/s of XML
//   XmlWriter/Error           one <Error> document, items/s
//   Keys/ObjectKeyEncode      AppendObjectKey of a 40-byte key into a reused buffer, items/s
//   Keys/ObjectKeyDecode      DecodeObjectKey, items/s
//   Keys/UriEncodeKey         AppendUriEncoded of a key with '/', spaces and UTF-8 (listings
//                             with encoding-type=url, canonical paths), bytes/s
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>

#include "auth/sigv4.h"
#include "http/parser.h"
#include "s3/xml.h"
#include "store/keys.h"

namespace mamute {
namespace {

const std::string kGetHead =
    "GET /my-app-uploads/photos/2024/01/IMG_0042.jpg HTTP/1.1\r\n"
    "Host: 127.0.0.1:9000\r\n"
    "User-Agent: aws-sdk-go-v2/1.24.0 os/linux lang/go#1.21.5 md/GOOS#linux api/s3#1.47.7\r\n"
    "Accept-Encoding: identity\r\n"
    "Amz-Sdk-Invocation-Id: 9f1d1b2e-6c1e-4c3f-8a55-7c1a6b0f2d11\r\n"
    "Amz-Sdk-Request: attempt=1; max=3\r\n"
    "X-Amz-Content-Sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\r\n"
    "X-Amz-Date: 20240115T093000Z\r\n"
    "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240115/us-east-1/s3/"
    "aws4_request, SignedHeaders=amz-sdk-invocation-id;amz-sdk-request;host;x-amz-content-sha256;"
    "x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41\r\n"
    "Connection: keep-alive\r\n\r\n";

class NullSink : public http::RequestParser::Sink {
 public:
  bool OnHead(http::RequestHead& head) override {
    benchmark::DoNotOptimize(head.header_count);
    return true;
  }
  void OnBody(const char* data, std::size_t len) override {
    benchmark::DoNotOptimize(data);
    body_ += len;
  }
  void OnMessageComplete() override {}
  std::size_t body_ = 0;
};

void ParseLoop(benchmark::State& state, const std::string& msg) {
  NullSink sink;
  http::RequestParser p(&sink, http::RequestParser::Limits{});
  for (auto _ : state) {
    p.Reset();
    std::size_t pos = 0;
    while (pos < msg.size()) {
      auto o = p.Execute(msg.data() + pos, msg.size() - pos);
      if (o.state == http::RequestParser::State::kError) {
        state.SkipWithError("parse error");
        return;
      }
      pos += o.consumed;
      if (o.state == http::RequestParser::State::kPaused) {
        p.Resume();
      }
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * msg.size()));
}

void BM_HttpParseGet(benchmark::State& state) { ParseLoop(state, kGetHead); }
BENCHMARK(BM_HttpParseGet)->Name("HttpParse/SigV4Get");

void BM_HttpParsePut(benchmark::State& state) {
  std::string msg = kGetHead;
  msg.replace(0, 3, "PUT");
  msg.insert(msg.size() - 2, "Content-Length: 4096\r\n");
  msg.append(4096, 'x');
  ParseLoop(state, msg);
}
BENCHMARK(BM_HttpParsePut)->Name("HttpParse/PutWithBody");

void BM_XmlListPage(benchmark::State& state) {
  std::string out;
  out.reserve(512 * 1024);
  std::size_t bytes = 0;
  for (auto _ : state) {
    out.clear();
    s3::XmlWriter w(&out);
    w.OpenRoot("ListBucketResult");
    w.Element("Name", "my-app-uploads");
    w.Element("Prefix", "photos/");
    w.Element("KeyCount", uint64_t{1000});
    w.Element("MaxKeys", uint64_t{1000});
    w.Bool("IsTruncated", true);
    char key[64];
    for (int i = 0; i < 1000; ++i) {
      int n = std::snprintf(key, sizeof key, "photos/2024/01/IMG_%04d & <raw>.jpg", i);
      w.Open("Contents");
      w.Element("Key", std::string_view(key, static_cast<std::size_t>(n)));
      w.Element("LastModified", "2024-01-15T09:30:00.000Z");
      w.Element("ETag", "\"9e107d9d372bb6826bd81d3542a419d6\"");
      w.Element("Size", uint64_t{4096} + static_cast<uint64_t>(i));
      w.Element("StorageClass", "STANDARD");
      w.Close("Contents");
    }
    w.Element("NextContinuationToken", "cGhvdG9zLzIwMjQvMDEvSU1HXzA5OTkuanBn");
    w.Close("ListBucketResult");
    bytes += out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 1000);
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_XmlListPage)->Name("XmlWriter/ListPage1000");

void BM_XmlError(benchmark::State& state) {
  std::string out;
  out.reserve(1024);
  for (auto _ : state) {
    out.clear();
    s3::XmlWriter w(&out);
    w.Open("Error");
    w.Element("Code", "NoSuchKey");
    w.Element("Message", "The specified key does not exist.");
    w.Element("Resource", "/my-app-uploads/photos/2024/01/IMG_0042.jpg");
    w.Element("RequestId", "17A2B3C4D5E6F708");
    w.Close("Error");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_XmlError)->Name("XmlWriter/Error");

constexpr std::string_view kKey = "photos/2024/01/IMG_0042 (copy) été.jpg";

void BM_ObjectKeyEncode(benchmark::State& state) {
  std::string out;
  out.reserve(256);
  for (auto _ : state) {
    out.clear();
    store::AppendObjectKey(&out, 0x0123456789abcdefull, kKey);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ObjectKeyEncode)->Name("Keys/ObjectKeyEncode");

void BM_ObjectKeyDecode(benchmark::State& state) {
  const std::string enc = store::ObjectKey(0x0123456789abcdefull, kKey);
  for (auto _ : state) {
    auto d = store::DecodeObjectKey(enc);
    benchmark::DoNotOptimize(d);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ObjectKeyDecode)->Name("Keys/ObjectKeyDecode");

void BM_UriEncodeKey(benchmark::State& state) {
  std::string out;
  out.reserve(256);
  for (auto _ : state) {
    out.clear();
    auth::AppendUriEncoded(out, kKey, true);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kKey.size()));
}
BENCHMARK(BM_UriEncodeKey)->Name("Keys/UriEncodeKey");

}  // namespace
}  // namespace mamute

BENCHMARK_MAIN();
