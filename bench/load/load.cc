// Pure parts of mamute-load: see load.h.
#include "load.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>

namespace mamute::load {

std::string_view OpKindName(OpKind k) noexcept {
  switch (k) {
    case OpKind::kGet: return "get";
    case OpKind::kStat: return "stat";
    case OpKind::kPut: return "put";
    case OpKind::kDelete: return "delete";
    case OpKind::kList: return "list";
    case OpKind::kMpuInit: return "mpu-init";
    case OpKind::kMpuPart: return "mpu-part";
    case OpKind::kMpuComplete: return "mpu-complete";
    case OpKind::kCount: break;
  }
  return "?";
}

namespace {
constexpr std::pair<std::string_view, Workload> kWorkloads[] = {
    {"put", Workload::kPut},       {"get", Workload::kGet},   {"stat", Workload::kStat},
    {"delete", Workload::kDelete}, {"list", Workload::kList}, {"mixed", Workload::kMixed},
    {"multipart", Workload::kMultipart},
};
}  // namespace

std::string_view WorkloadName(Workload w) noexcept {
  for (const auto& [name, value] : kWorkloads) {
    if (value == w) {
      return name;
    }
  }
  return "?";
}

// ---------------------------------------------------------------------------- Mix

Mix::Mix(uint32_t get, uint32_t stat, uint32_t put, uint32_t del) noexcept
    : cumulative_{get, get + stat, get + stat + put, get + stat + put + del} {}

std::expected<Mix, std::string> Mix::Parse(std::string_view spec) {
  uint32_t w[4] = {0, 0, 0, 0};
  static constexpr std::string_view kNames[4] = {"get", "stat", "put", "delete"};
  while (!spec.empty()) {
    std::size_t comma = spec.find(',');
    std::string_view item = spec.substr(0, comma);
    spec = comma == std::string_view::npos ? std::string_view{} : spec.substr(comma + 1);
    std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      return std::unexpected("mix item without '=': " + std::string(item));
    }
    std::string_view name = item.substr(0, eq), value = item.substr(eq + 1);
    auto it = std::find(std::begin(kNames), std::end(kNames), name);
    uint32_t v = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (it == std::end(kNames) || ec != std::errc() || p != value.data() + value.size() ||
        v > 1000000) {
      return std::unexpected("bad mix item: " + std::string(item));
    }
    w[it - std::begin(kNames)] = v;
  }
  Mix m(w[0], w[1], w[2], w[3]);
  if (m.total() == 0) {
    return std::unexpected(std::string("mix weights sum to 0"));
  }
  return m;
}

OpKind Mix::Pick(uint32_t r) const noexcept {
  uint32_t x = r % cumulative_[3];
  for (std::size_t i = 0; i < 4; ++i) {
    if (x < cumulative_[i]) {
      return static_cast<OpKind>(i);
    }
  }
  return OpKind::kGet;  // unreachable while total() > 0
}

uint32_t Mix::weight(OpKind k) const noexcept {
  auto i = static_cast<std::size_t>(k);
  if (i >= 4) {
    return 0;
  }
  return cumulative_[i] - (i == 0 ? 0 : cumulative_[i - 1]);
}

// ---------------------------------------------------------------------------- options

std::expected<uint64_t, std::string> ParseSize(std::string_view s) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p == s.data()) {
    return std::unexpected("bad size: " + std::string(s));
  }
  std::string_view unit(p, s.data() + s.size() - p);
  static constexpr std::pair<std::string_view, unsigned> kUnits[] = {
      {"", 0},    {"B", 0},  {"k", 10},   {"K", 10},  {"KiB", 10}, {"KB", 10},
      {"m", 20},  {"M", 20}, {"MiB", 20}, {"MB", 20}, {"g", 30},   {"G", 30},
      {"GiB", 30}, {"GB", 30},
  };
  for (const auto& [name, shift] : kUnits) {
    if (unit == name) {
      if (shift && v > (UINT64_MAX >> shift)) {
        break;
      }
      return v << shift;
    }
  }
  return std::unexpected("bad size: " + std::string(s));
}

std::expected<double, std::string> ParseDuration(std::string_view s) {
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  std::string_view unit(p, s.data() + s.size() - p);
  if (ec != std::errc() || p == s.data() || !(v >= 0) || !std::isfinite(v)) {
    return std::unexpected("bad duration: " + std::string(s));
  }
  if (unit.empty() || unit == "s") {
    return v;
  }
  if (unit == "ms") {
    return v / 1000;
  }
  if (unit == "m") {
    return v * 60;
  }
  return std::unexpected("bad duration: " + std::string(s));
}

std::string UsageText() {
  return R"(usage: mamute-load --op OP [options]
  --op put|get|stat|delete|list|mixed|multipart   workload (default put)
  --endpoint URL        S3 endpoint, http only (default http://127.0.0.1:9000)
  --bucket NAME         bucket (must exist; required unless --anchor-url)
  --access-key K --secret-key S   (default $AWS_ACCESS_KEY_ID / $AWS_SECRET_ACCESS_KEY)
  --region R            (default us-east-1)
  --prefix P            key prefix (default load/)
  --size N              object size: 4096, 4KiB, 1MiB... (default 4KiB)
  --concurrency N       connections, one thread each (default 16)
  --duration D          10, 10s, 500ms, 2m (default 10s)
  --objects N           objects prepared for get/stat/delete/list/mixed (default 1000)
  --parts N --part-size N   multipart: parts per upload (2), part size (5MiB)
  --list-max-keys N     keys per ListObjectsV2 page (default 1000)
  --payload signed|unsigned|chunked   PUT body signing (default signed)
  --presign             presigned URLs instead of an Authorization header
  --mix get=45,stat=30,put=15,delete=10   mixed weights (warp's default)
  --anchor-url URL      plain unsigned GETs of URL (an anchor such as nginx); no S3
  --json FILE           write the result as JSON
  --no-progress         no progress line
  --no-prepare          the --objects objects exist already (same --prefix, earlier run)
  --print-url           (get) print a presigned URL of the first object and exit
  --seed N              random seed (default 1)
)";
}

std::expected<Options, std::string> ParseOptions(const std::vector<std::string_view>& args,
                                                 std::string_view env_access_key,
                                                 std::string_view env_secret_key) {
  Options o;
  o.access_key = env_access_key;
  o.secret_key = env_secret_key;
  auto unsigned_of = [](std::string_view name, std::string_view v,
                        uint64_t max) -> std::expected<uint64_t, std::string> {
    uint64_t n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || p != v.data() + v.size() || n == 0 || n > max) {
      return std::unexpected("bad value for " + std::string(name) + ": " + std::string(v));
    }
    return n;
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view a = args[i];
    std::string_view v;
    bool has_value = false;
    if (std::size_t eq = a.find('='); a.starts_with("--") && eq != std::string_view::npos) {
      v = a.substr(eq + 1);
      a = a.substr(0, eq);
      has_value = true;
    }
    auto need = [&]() -> std::expected<std::string_view, std::string> {
      if (has_value) {
        return v;
      }
      if (i + 1 >= args.size()) {
        return std::unexpected("missing value for " + std::string(a));
      }
      return args[++i];
    };
    if (a == "--presign" || a == "--no-progress" || a == "--no-prepare" || a == "--print-url") {
      if (has_value) {
        return std::unexpected(std::string(a) + " takes no value");
      }
      if (a == "--presign") {
        o.presign = true;
      } else if (a == "--no-progress") {
        o.progress = false;
      } else if (a == "--print-url") {
        o.print_url = true;
      } else {
        o.no_prepare = true;
      }
      continue;
    }
    auto val = need();
    if (!val) {
      return std::unexpected(val.error());
    }
    std::string_view x = *val;
    if (a == "--op") {
      auto it = std::find_if(std::begin(kWorkloads), std::end(kWorkloads),
                             [&](const auto& w) { return w.first == x; });
      if (it == std::end(kWorkloads)) {
        return std::unexpected("unknown --op: " + std::string(x));
      }
      o.workload = it->second;
    } else if (a == "--endpoint") {
      o.endpoint = x;
    } else if (a == "--bucket") {
      o.bucket = x;
    } else if (a == "--access-key") {
      o.access_key = x;
    } else if (a == "--secret-key") {
      o.secret_key = x;
    } else if (a == "--region") {
      o.region = x;
    } else if (a == "--prefix") {
      o.prefix = x;
    } else if (a == "--anchor-url") {
      o.anchor_url = x;
    } else if (a == "--json") {
      o.json_path = x;
    } else if (a == "--size" || a == "--part-size") {
      auto s = ParseSize(x);
      if (!s) {
        return std::unexpected(s.error());
      }
      (a == "--size" ? o.object_size : o.part_size) = *s;
    } else if (a == "--duration") {
      auto d = ParseDuration(x);
      if (!d) {
        return std::unexpected(d.error());
      }
      o.duration_s = *d;
    } else if (a == "--concurrency" || a == "--objects" || a == "--parts" ||
               a == "--list-max-keys") {
      uint64_t max = a == "--concurrency" ? 4096 : a == "--parts" ? 10000
                     : a == "--list-max-keys" ? 1000 : 100000000;
      auto n = unsigned_of(a, x, max);
      if (!n) {
        return std::unexpected(n.error());
      }
      uint32_t& dst = a == "--concurrency" ? o.concurrency
                      : a == "--objects"   ? o.objects
                      : a == "--parts"     ? o.parts
                                           : o.list_max_keys;
      dst = static_cast<uint32_t>(*n);
    } else if (a == "--seed") {
      auto [p, ec] = std::from_chars(x.data(), x.data() + x.size(), o.seed);
      if (ec != std::errc() || p != x.data() + x.size()) {
        return std::unexpected("bad value for --seed: " + std::string(x));
      }
    } else if (a == "--payload") {
      if (x == "signed") {
        o.payload = PayloadSigning::kSigned;
      } else if (x == "unsigned") {
        o.payload = PayloadSigning::kUnsigned;
      } else if (x == "chunked") {
        o.payload = PayloadSigning::kChunked;
      } else {
        return std::unexpected("unknown --payload: " + std::string(x));
      }
    } else if (a == "--mix") {
      auto m = Mix::Parse(x);
      if (!m) {
        return std::unexpected(m.error());
      }
      o.mix = *m;
    } else {
      return std::unexpected("unknown option: " + std::string(a));
    }
  }
  if (!o.endpoint.starts_with("http://")) {
    return std::unexpected("only http:// endpoints are supported: " + o.endpoint);
  }
  if (!o.anchor_url.empty()) {
    if (!o.anchor_url.starts_with("http://")) {
      return std::unexpected("--anchor-url must be http://");
    }
    if (o.workload != Workload::kGet) {
      return std::unexpected(std::string("--anchor-url only goes with --op get"));
    }
    return o;
  }
  if (o.bucket.empty()) {
    return std::unexpected(std::string("--bucket is required"));
  }
  if (o.access_key.empty() || o.secret_key.empty()) {
    return std::unexpected(std::string("credentials required (--access-key/--secret-key)"));
  }
  if (o.print_url && o.workload != Workload::kGet) {
    return std::unexpected(std::string("--print-url goes with --op get"));
  }
  if (o.presign && o.payload == PayloadSigning::kChunked) {
    return std::unexpected(std::string("--presign and --payload chunked exclude each other"));
  }
  return o;
}

// ---------------------------------------------------------------------------- histogram

std::size_t LatencyHistogram::BucketOf(uint64_t us) noexcept {
  constexpr uint64_t kCap = (uint64_t{1} << kMaxExp) - 1;
  us = std::min(us, kCap);
  if (us < 2 * kSub) {
    return static_cast<std::size_t>(us);
  }
  unsigned e = std::bit_width(us) - 1;  // >= kSubBits + 1
  uint64_t sub = (us >> (e - kSubBits)) & (kSub - 1);
  return 2 * kSub + (e - kSubBits - 1) * kSub + sub;
}

uint64_t LatencyHistogram::BucketHigh(std::size_t b) noexcept {
  if (b < 2 * kSub) {
    return b;
  }
  std::size_t rel = b - 2 * kSub;
  unsigned e = static_cast<unsigned>(rel / kSub) + kSubBits + 1;
  uint64_t sub = rel % kSub;
  uint64_t low = (uint64_t{1} << e) + (sub << (e - kSubBits));
  return low + (uint64_t{1} << (e - kSubBits)) - 1;
}

void LatencyHistogram::Record(uint64_t us) noexcept {
  ++buckets_[BucketOf(us)];
  ++count_;
  sum_ += us;
  max_ = std::max(max_, us);
  min_ = std::min(min_, us);
}

void LatencyHistogram::Merge(const LatencyHistogram& o) noexcept {
  for (std::size_t i = 0; i < kBuckets; ++i) {
    buckets_[i] += o.buckets_[i];
  }
  count_ += o.count_;
  sum_ += o.sum_;
  max_ = std::max(max_, o.max_);
  min_ = std::min(min_, o.min_);
}

uint64_t LatencyHistogram::Percentile(double q) const noexcept {
  if (count_ == 0) {
    return 0;
  }
  q = std::clamp(q, 0.0, 1.0);
  // The rank of the q-quantile, 1-based: the smallest value with at least q of the samples at or below it.
  auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  rank = std::max<uint64_t>(rank, 1);
  uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen >= rank) {
      return std::min(BucketHigh(i), max_);
    }
  }
  return max_;
}

// ---------------------------------------------------------------------------- responses

std::string_view XmlElement(std::string_view xml, std::string_view tag) noexcept {
  std::string open;
  open.reserve(tag.size() + 2);
  open.push_back('<');
  open.append(tag);
  open.push_back('>');
  std::size_t b = xml.find(open);
  if (b == std::string_view::npos) {
    return {};
  }
  b += open.size();
  std::size_t e = xml.find("</", b);
  if (e == std::string_view::npos) {
    return {};
  }
  return xml.substr(b, e - b);
}

std::string ErrorCodeOf(int status, std::string_view body) {
  std::string_view code = XmlElement(body, "Code");
  if (!code.empty() && code.size() < 64) {
    return std::string(code);
  }
  return "HTTP " + std::to_string(status);
}

ListPage ParseListPage(std::string_view xml) {
  ListPage page;
  for (std::size_t pos = 0; (pos = xml.find("<Key>", pos)) != std::string_view::npos; pos += 5) {
    ++page.keys;
  }
  page.truncated = XmlElement(xml, "IsTruncated") == "true";
  if (page.truncated) {
    page.next_token = XmlElement(xml, "NextContinuationToken");
  }
  return page;
}

}  // namespace mamute::load
