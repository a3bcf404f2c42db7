#include "store/keys.h"

#include <sys/random.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "util/encoding.h"

namespace mamute::store {
namespace {

void FillRandom(void* buf, std::size_t n) noexcept {
  auto* p = static_cast<uint8_t*>(buf);
  std::size_t got = 0;
  while (got < n) {
    ssize_t r = getrandom(p + got, n - got, 0);
    if (r > 0) {
      got += static_cast<std::size_t>(r);
    } else if (r < 0 && errno == EINTR) {
      continue;
    } else {
      break;
    }
  }
  if (got < n) {
    // getrandom(2) does not fail after early boot; keep ids unique anyway.
    static std::atomic<uint64_t> counter{0};
    uint64_t x = static_cast<uint64_t>(
                     std::chrono::steady_clock::now().time_since_epoch().count()) ^
                 (counter.fetch_add(1) * 0x9e3779b97f4a7c15ull);
    for (; got < n; ++got) {
      x ^= x >> 33;
      x *= 0xff51afd7ed558ccdull;
      p[got] = static_cast<uint8_t>(x >> 56);
    }
  }
}

}  // namespace

void AppendBigEndian32(std::string* out, uint32_t v) {
  char b[4];
  for (int i = 3; i >= 0; --i) {
    b[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  out->append(b, 4);
}

void AppendBigEndian64(std::string* out, uint64_t v) {
  char b[8];
  for (int i = 7; i >= 0; --i) {
    b[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  out->append(b, 8);
}

uint32_t LoadBigEndian32(const char* p) noexcept {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    v = (v << 8) | static_cast<uint8_t>(p[i]);
  }
  return v;
}

uint64_t LoadBigEndian64(const char* p) noexcept {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v = (v << 8) | static_cast<uint8_t>(p[i]);
  }
  return v;
}

std::optional<std::string> PrefixSuccessor(std::string_view prefix) {
  std::string s(prefix);
  while (!s.empty() && static_cast<uint8_t>(s.back()) == 0xff) {
    s.pop_back();
  }
  if (s.empty()) {
    return std::nullopt;
  }
  s.back() = static_cast<char>(static_cast<uint8_t>(s.back()) + 1);
  return s;
}

std::string BucketKey(BucketId id) {
  std::string k;
  AppendBigEndian64(&k, id);
  return k;
}

Result<BucketId> DecodeBucketKey(std::string_view key) {
  if (key.size() != kBucketIdSize) {
    return Err(Status::Corruption("bucket key: length is not 8"));
  }
  return LoadBigEndian64(key.data());
}

std::string ObjectKey(BucketId bucket, std::string_view key) {
  std::string k;
  AppendObjectKey(&k, bucket, key);
  return k;
}

void AppendObjectKey(std::string* out, BucketId bucket, std::string_view key) {
  out->reserve(out->size() + kBucketIdSize + key.size());
  AppendBigEndian64(out, bucket);
  out->append(key);
}

std::string BucketPrefix(BucketId bucket) { return BucketKey(bucket); }

Result<DecodedObjectKey> DecodeObjectKey(std::string_view encoded) {
  if (encoded.size() < kBucketIdSize) {
    return Err(Status::Corruption("object key: shorter than a bucket id"));
  }
  return DecodedObjectKey{LoadBigEndian64(encoded.data()), encoded.substr(kBucketIdSize)};
}

// ---- uploads ------------------------------------------------------------------------------

UploadId UploadId::Make(uint64_t initiated_ms, uint64_t random) noexcept {
  UploadId id;
  for (int i = 7; i >= 0; --i) {
    id.bytes[static_cast<std::size_t>(i)] = static_cast<uint8_t>(initiated_ms & 0xff);
    initiated_ms >>= 8;
  }
  for (int i = 15; i >= 8; --i) {
    id.bytes[static_cast<std::size_t>(i)] = static_cast<uint8_t>(random & 0xff);
    random >>= 8;
  }
  return id;
}

UploadId UploadId::Generate(uint64_t initiated_ms) noexcept {
  uint64_t r = 0;
  FillRandom(&r, sizeof(r));
  return Make(initiated_ms, r);
}

std::string UploadId::ToHex() const { return util::HexEncode(bytes.data(), bytes.size()); }

Result<UploadId> UploadId::FromHex(std::string_view hex) {
  if (hex.size() != 2 * kUploadIdSize) {
    return Err(Status::InvalidArgument("upload id: not 32 hex chars"));
  }
  auto raw = util::HexDecode(hex);
  if (!raw) {
    return Err(Status::InvalidArgument("upload id: not hex"));
  }
  return FromBytes(*raw);
}

Result<UploadId> UploadId::FromBytes(std::string_view raw) {
  if (raw.size() != kUploadIdSize) {
    return Err(Status::InvalidArgument("upload id: not 16 bytes"));
  }
  UploadId id;
  std::memcpy(id.bytes.data(), raw.data(), kUploadIdSize);
  return id;
}

void AppendEscaped(std::string* out, std::string_view raw) {
  for (char c : raw) {
    out->push_back(c);
    if (c == '\0') {
      out->push_back(static_cast<char>(0xff));
    }
  }
  out->push_back('\0');
  out->push_back('\x01');
}

Status ConsumeEscaped(std::string_view* in, std::string* out) {
  out->clear();
  std::size_t i = 0;
  const std::string_view s = *in;
  while (i < s.size()) {
    char c = s[i];
    if (c != '\0') {
      out->push_back(c);
      ++i;
      continue;
    }
    if (i + 1 >= s.size()) {
      return Status::Corruption("escaped string: truncated escape");
    }
    uint8_t next = static_cast<uint8_t>(s[i + 1]);
    if (next == 0xff) {
      out->push_back('\0');
      i += 2;
    } else if (next == 0x01) {
      in->remove_prefix(i + 2);
      return Status::Ok();
    } else {
      return Status::Corruption("escaped string: bad escape");
    }
  }
  return Status::Corruption("escaped string: no terminator");
}

std::string UploadKeyPrefix(BucketId bucket, std::string_view object_key) {
  std::string k;
  k.reserve(kBucketIdSize + object_key.size() + 2 + kUploadIdSize);
  AppendBigEndian64(&k, bucket);
  AppendEscaped(&k, object_key);
  return k;
}

std::string UploadKey(BucketId bucket, std::string_view object_key, const UploadId& id) {
  std::string k = UploadKeyPrefix(bucket, object_key);
  k.append(id.view());
  return k;
}

Result<DecodedUploadKey> DecodeUploadKey(std::string_view encoded) {
  if (encoded.size() < kBucketIdSize + 2 + kUploadIdSize) {
    return Err(Status::Corruption("upload key: too short"));
  }
  DecodedUploadKey d;
  d.bucket = LoadBigEndian64(encoded.data());
  std::string_view rest = encoded.substr(kBucketIdSize);
  Status s = ConsumeEscaped(&rest, &d.object_key);
  if (!s.ok()) {
    return Err(std::move(s));
  }
  if (rest.size() != kUploadIdSize) {
    return Err(Status::Corruption("upload key: upload id is not 16 bytes"));
  }
  std::memcpy(d.upload_id.bytes.data(), rest.data(), kUploadIdSize);
  return d;
}

std::string PartKey(const UploadId& upload, uint32_t part_number) {
  std::string k;
  k.reserve(kUploadIdSize + kPartNumberSize);
  k.append(upload.view());
  AppendBigEndian32(&k, part_number);
  return k;
}

Result<DecodedPartKey> DecodePartKey(std::string_view encoded) {
  if (encoded.size() != kUploadIdSize + kPartNumberSize) {
    return Err(Status::Corruption("part key: length is not 20"));
  }
  DecodedPartKey d;
  std::memcpy(d.upload_id.bytes.data(), encoded.data(), kUploadIdSize);
  d.part_number = LoadBigEndian32(encoded.data() + kUploadIdSize);
  return d;
}

std::string MgmtKey(std::string_view kind, std::string_view id) {
  std::string k;
  k.reserve(kind.size() + 1 + id.size());
  k.append(kind);
  k.push_back('\0');
  k.append(id);
  return k;
}

// ---- data files ---------------------------------------------------------------------------

FileId FileId::Generate() noexcept {
  FileId id;
  do {
    uint64_t r[2];
    FillRandom(r, sizeof(r));
    id.hi = r[0];
    id.lo = r[1];
  } while (id.is_zero());
  return id;
}

std::string FileId::ToHex() const {
  std::string raw;
  AppendBigEndian64(&raw, hi);
  AppendBigEndian64(&raw, lo);
  return util::HexEncode(raw.data(), raw.size());
}

Result<FileId> FileId::FromHex(std::string_view hex) {
  if (hex.size() != 32) {
    return Err(Status::InvalidArgument("file id: not 32 hex chars"));
  }
  // Names on disk are lowercase; reject uppercase so one id has exactly one name.
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return Err(Status::InvalidArgument("file id: not lowercase hex"));
    }
  }
  auto raw = util::HexDecode(hex);
  if (!raw || raw->size() != 16) {
    return Err(Status::InvalidArgument("file id: not hex"));
  }
  return FileId{LoadBigEndian64(raw->data()), LoadBigEndian64(raw->data() + 8)};
}

std::string DataFileRelPath(const FileId& id) {
  std::string hex = id.ToHex();
  std::string p;
  p.reserve(8 + 6 + 32);
  p.append("objects/");
  p.append(hex, 0, 2);
  p.push_back('/');
  p.append(hex, 2, 2);
  p.push_back('/');
  p.append(hex);
  return p;
}

}  // namespace mamute::store
