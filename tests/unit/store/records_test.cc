#include "store/records.h"

#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <string>
#include <vector>

namespace mamute::store {
namespace {

using namespace std::string_literals;

const std::string kMd5(16, '\x5a');
const std::string kSha256(32, '\x11');

// Every record kind under test, as a type-erased (encode, decode-and-compare) pair.
struct Codec {
  std::string name;
  std::function<void(std::string*)> encode;
  // Decodes `in`; on success also compares against the original.
  std::function<Status(std::string_view in, bool* equal)> decode;
};

template <typename R>
Codec MakeCodec(std::string name, R rec, void (*enc)(const R&, std::string*),
                Status (*dec)(std::string_view, R*)) {
  return Codec{std::move(name), [rec, enc](std::string* out) { enc(rec, out); },
               [rec, dec](std::string_view in, bool* equal) {
                 R out;
                 Status s = dec(in, &out);
                 *equal = s.ok() && out == rec;
                 return s;
               }};
}

ObjectRecord SmallInlineObject() {
  ObjectRecord r;
  r.size = 5;
  r.mtime_ms = 1'700'000'000'123;
  r.etag = kMd5;
  r.xxh3 = {0x1111, 0x2222};
  r.location.kind = LocationKind::kInline;
  r.location.inline_data = "hello";
  return r;
}

ObjectRecord FullMultipartObject() {
  ObjectRecord r;
  r.size = (5u << 20) * 2 + 7;
  r.mtime_ms = 1;
  r.etag_kind = EtagKind::kMultipart;
  r.etag = "0123456789abcdef0123456789abcdef-3";
  r.xxh3 = {~0ull, 0};
  r.headers = {"text/plain", "gzip", "attachment; filename=\"a.txt\"", "en", "no-cache",
               "Wed, 21 Oct 2015 07:28:00 GMT"};
  r.user_meta = {{"color", "blue"}, {"empty", ""}, {"bin", std::string_view("\x00\xff", 2)}};
  r.checksums = {{ChecksumAlgorithm::kCrc32c, ChecksumType::kComposite, "abcd"},
                 {ChecksumAlgorithm::kSha256, ChecksumType::kFullObject, kSha256}};
  r.tags = {{"project", "mamute"}};
  r.location.kind = LocationKind::kFile;
  r.location.file = FileId{0x0102030405060708ull, 0x090a0b0c0d0e0f10ull};
  r.location.data_dir = 3;
  r.part_sizes = {5u << 20, 5u << 20, 7};
  return r;
}

std::vector<Codec> AllCodecs() {
  std::vector<Codec> v;
  v.push_back(MakeCodec("bucket-minimal", BucketRecord{1, "b", "", "", "", 0, ""}, EncodeBucket,
                        DecodeBucket));
  v.push_back(MakeCodec("bucket-full",
                        BucketRecord{~0ull, "my-bucket", "proj-1", "STANDARD", "us-east-1",
                                     -5, "<CORSConfiguration/>"},
                        EncodeBucket, DecodeBucket));
  v.push_back(MakeCodec("object-inline", SmallInlineObject(), EncodeObject, DecodeObject));
  ObjectRecord empty;
  empty.etag = kMd5;
  v.push_back(MakeCodec("object-empty", empty, EncodeObject, DecodeObject));
  v.push_back(MakeCodec("object-multipart", FullMultipartObject(), EncodeObject, DecodeObject));
  UploadRecord up;
  up.initiated_ms = 42;
  up.storage_class = "STANDARD";
  v.push_back(MakeCodec("upload-minimal", up, EncodeUpload, DecodeUpload));
  up.headers.content_type = "image/png";
  up.user_meta = {{"a", "b"}};
  up.tags = {{"k", "v"}};
  up.has_checksum = true;
  up.checksum_algorithm = ChecksumAlgorithm::kCrc64Nvme;
  up.checksum_type = ChecksumType::kFullObject;
  up.owner = "AKIAEXAMPLE";
  v.push_back(MakeCodec("upload-full", up, EncodeUpload, DecodeUpload));
  PartRecord part;
  part.size = 5u << 20;
  part.mtime_ms = 99;
  part.etag_md5 = kMd5;
  part.xxh3 = {3, 4};
  part.checksums = {{ChecksumAlgorithm::kSha1, ChecksumType::kFullObject, std::string_view("01234567890123456789")}};
  part.location = {LocationKind::kFile, {}, FileId{1, 2}, 0};
  v.push_back(MakeCodec("part-file", part, EncodePart, DecodePart));
  PartRecord small;
  small.size = 3;
  small.etag_md5 = kMd5;
  small.location.inline_data = "xyz";
  v.push_back(MakeCodec("part-inline", small, EncodePart, DecodePart));
  CredentialRecord cred;
  cred.access_key_id = "AKIAIOSFODNN7EXAMPLE";
  static const std::string kSealed = "\x01\x02sealed\x00bytes"s;
  cred.sealed_secret = kSealed;
  cred.scope = {ScopeKind::kProject, 0, "proj-9"};
  cred.status = CredentialStatus::kActive;
  cred.created_at_ms = 1000;
  cred.last_used_at_ms = 2000;
  cred.secret_version = 7;
  v.push_back(MakeCodec("credential-project", cred, EncodeCredential, DecodeCredential));
  cred.scope = {ScopeKind::kBucket, 123456789, ""};
  cred.status = CredentialStatus::kInactive;
  v.push_back(MakeCodec("credential-bucket", cred, EncodeCredential, DecodeCredential));
  return v;
}

TEST(RecordsTest, RoundTrip) {
  for (const Codec& c : AllCodecs()) {
    std::string enc;
    c.encode(&enc);
    ASSERT_FALSE(enc.empty()) << c.name;
    EXPECT_EQ(static_cast<uint8_t>(enc[0]), kFormatV1) << c.name;
    bool equal = false;
    Status s = c.decode(enc, &equal);
    EXPECT_TRUE(s.ok()) << c.name << ": " << s.ToString();
    EXPECT_TRUE(equal) << c.name;
  }
}

TEST(RecordsTest, EveryTruncationIsCorruption) {
  for (const Codec& c : AllCodecs()) {
    std::string enc;
    c.encode(&enc);
    for (std::size_t n = 0; n < enc.size(); ++n) {
      bool equal = false;
      Status s = c.decode(std::string_view(enc).substr(0, n), &equal);
      EXPECT_EQ(s.code(), Code::kCorruption) << c.name << " truncated to " << n;
    }
  }
}

TEST(RecordsTest, TrailingBytesAreCorruption) {
  for (const Codec& c : AllCodecs()) {
    std::string enc;
    c.encode(&enc);
    enc.push_back('\0');
    bool equal = false;
    EXPECT_EQ(c.decode(enc, &equal).code(), Code::kCorruption) << c.name;
  }
}

TEST(RecordsTest, UnknownVersionIsCorruption) {
  for (const Codec& c : AllCodecs()) {
    std::string enc;
    c.encode(&enc);
    for (uint8_t v : {0, 2, 255}) {
      enc[0] = static_cast<char>(v);
      bool equal = false;
      EXPECT_EQ(c.decode(enc, &equal).code(), Code::kCorruption) << c.name << " v" << int{v};
    }
  }
}

// Byte flips must never crash or read out of bounds; they either fail with Corruption or decode
// to some (different or equal) record.
TEST(RecordsTest, ByteFlipsNeverCrash) {
  for (const Codec& c : AllCodecs()) {
    std::string enc;
    c.encode(&enc);
    for (std::size_t i = 0; i < enc.size(); ++i) {
      for (uint8_t x : {0x01, 0x80, 0xff}) {
        std::string bad = enc;
        bad[i] = static_cast<char>(static_cast<uint8_t>(bad[i]) ^ x);
        bool equal = false;
        Status s = c.decode(bad, &equal);
        EXPECT_TRUE(s.ok() || s.code() == Code::kCorruption) << c.name;
        EXPECT_FALSE(s.ok() && equal && bad != enc) << c.name << " byte " << i;
      }
    }
  }
}

TEST(RecordsTest, RandomInputsNeverCrash) {
  std::mt19937_64 rng(12345);
  ObjectRecord o;
  BucketRecord b;
  UploadRecord u;
  PartRecord p;
  CredentialRecord cr;
  for (int i = 0; i < 20000; ++i) {
    std::string in(rng() % 64, '\0');
    for (char& ch : in) {
      ch = static_cast<char>(rng());
    }
    if (!in.empty() && (i & 1)) {
      in[0] = static_cast<char>(kFormatV1);
    }
    for (Status s : {DecodeObject(in, &o), DecodeBucket(in, &b), DecodeUpload(in, &u),
                     DecodePart(in, &p), DecodeCredential(in, &cr)}) {
      EXPECT_TRUE(s.ok() || s.code() == Code::kCorruption);
    }
  }
}

TEST(RecordsTest, SpecificCorruptions) {
  struct Case {
    std::string name;
    std::string bytes;
  };
  // Hand-built object records: version, size, mtime, etag kind, etag, xxh3, bits, location.
  const std::string head = "\x01\x05\x00\x00\x10"s + kMd5 + std::string(16, '\0');
  const Case cases[] = {
      {"empty", ""},
      {"inline size mismatch", head + "\x00\x00\x04" "abcd"s},
      {"unknown etag kind", "\x01\x05\x00\x07\x10"s + kMd5 + std::string(16, '\0') + "\x00\x00\x05hello"s},
      {"md5 etag of 15 bytes", "\x01\x05\x00\x00\x0f"s + kMd5.substr(1) + std::string(16, '\0') + "\x00\x00\x05hello"s},
      {"unknown field bit", head + "\x80\x08\x00\x05hello"s},
      {"unknown location kind", head + "\x00\x07\x05hello"s},
      {"zero file id", head + "\x00\x01"s + std::string(16, '\0') + "\x00"s},
      {"huge length", head + "\x00\x00\xff\xff\xff\xff\x0f"s},
      {"over-long varint", "\x01\x85\x00\x00\x00\x10"s + kMd5 + std::string(16, '\0') + "\x00\x00\x05hello"s},
      {"varint overflow", "\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f"s},
      {"huge list count", head + "\x40\xff\xff\xff\xff\x0f"s},
      {"empty list marked present", head + "\x40\x00\x00\x05hello"s},
      {"empty header marked present", head + "\x01\x00\x00\x05hello"s},
  };
  ObjectRecord out;
  for (const Case& c : cases) {
    EXPECT_EQ(DecodeObject(c.bytes, &out).code(), Code::kCorruption) << c.name;
  }
  // The hand-built base is valid, so the cases above fail for the reason in their name.
  const std::string valid = head + "\x00\x00\x05hello"s;  // decoded records borrow from it
  EXPECT_TRUE(DecodeObject(valid, &out).ok());
  EXPECT_EQ(out.location.inline_data, "hello");
}

TEST(RecordsTest, ChecksumSizeIsEnforced) {
  ObjectRecord r = SmallInlineObject();
  r.checksums = {{ChecksumAlgorithm::kCrc32, ChecksumType::kFullObject, "abc"}};  // 3 != 4
  std::string enc;
  EncodeObject(r, &enc);
  ObjectRecord out;
  EXPECT_EQ(DecodeObject(enc, &out).code(), Code::kCorruption);
}

TEST(RecordsTest, PartSizesMustAddUp) {
  ObjectRecord r = FullMultipartObject();
  r.size += 1;
  std::string enc;
  EncodeObject(r, &enc);
  ObjectRecord out;
  EXPECT_EQ(DecodeObject(enc, &out).code(), Code::kCorruption);
}

TEST(RecordsTest, DecodeIntoReusedRecordClearsLists) {
  std::string full;
  EncodeObject(FullMultipartObject(), &full);
  std::string small;
  EncodeObject(SmallInlineObject(), &small);
  ObjectRecord out;
  ASSERT_TRUE(DecodeObject(full, &out).ok());
  ASSERT_TRUE(DecodeObject(small, &out).ok());
  EXPECT_EQ(out, SmallInlineObject());
}

TEST(RecordsTest, BucketName) {
  std::string enc;
  EncodeBucketName(0xabcdef, &enc);
  EXPECT_EQ(enc.size(), 9u);
  BucketId id = 0;
  ASSERT_TRUE(DecodeBucketName(enc, &id).ok());
  EXPECT_EQ(id, 0xabcdefu);
  EXPECT_EQ(DecodeBucketName(enc.substr(0, 8), &id).code(), Code::kCorruption);
  EXPECT_EQ(DecodeBucketName(enc + "x", &id).code(), Code::kCorruption);
}

TEST(RecordsTest, FormatEtag) {
  EXPECT_EQ(FormatEtag(EtagKind::kMd5, std::string(16, '\0')),
            "\"00000000000000000000000000000000\"");
  EXPECT_EQ(FormatEtag(EtagKind::kMultipart, "abc-2"), "\"abc-2\"");
}

TEST(RecordsTest, SignedTimesRoundTrip) {
  for (int64_t t : {int64_t{0}, int64_t{-1}, int64_t{1}, INT64_MIN, INT64_MAX}) {
    BucketRecord b{1, "n", "", "", "", t, ""};
    std::string enc;
    EncodeBucket(b, &enc);
    BucketRecord out;
    ASSERT_TRUE(DecodeBucket(enc, &out).ok());
    EXPECT_EQ(out.created_at_ms, t);
  }
}

}  // namespace
}  // namespace mamute::store

namespace mamute::store {
namespace {

// ---- format v2: completed multipart objects that name their part files ----------------------

ObjectRecord PartsObject() {
  ObjectRecord r = FullMultipartObject();
  r.location = {};
  r.location.kind = LocationKind::kParts;
  r.parts = {{5u << 20, {1, 2}, {LocationKind::kFile, {}, FileId{7, 8}, 0}},
             {5u << 20, {3, 4}, {LocationKind::kFile, {}, FileId{9, 10}, 1}},
             {7, {5, 6}, {LocationKind::kFile, {}, FileId{11, 12}, 0}}};
  r.part_sizes = {5u << 20, 5u << 20, 7};  // the decoder fills it from the parts
  return r;
}

TEST(RecordsV2Test, RoundTripAndVersion) {
  std::string enc;
  const ObjectRecord r = PartsObject();
  EncodeObject(r, &enc);
  EXPECT_EQ(static_cast<uint8_t>(enc[0]), kFormatV2);
  ObjectRecord out;
  ASSERT_TRUE(DecodeObject(enc, &out).ok());
  EXPECT_EQ(out, r);
  // Records that are not multipart objects keep the v1 bytes.
  EncodeObject(FullMultipartObject(), &enc);
  EXPECT_EQ(static_cast<uint8_t>(enc[0]), kFormatV1);
}

TEST(RecordsV2Test, EmptyInlinePartRoundTrips) {
  ObjectRecord r;
  r.etag_kind = EtagKind::kMultipart;
  r.etag = "d41d8cd98f00b204e9800998ecf8427e-1";
  r.location.kind = LocationKind::kParts;
  r.parts = {{0, {}, {LocationKind::kInline, "", {}, 0}}};
  r.part_sizes = {0};
  std::string enc;
  EncodeObject(r, &enc);
  ObjectRecord out;
  ASSERT_TRUE(DecodeObject(enc, &out).ok());
  EXPECT_EQ(out, r);
}

TEST(RecordsV2Test, TruncationsAndTrailingBytesAreCorruption) {
  std::string enc;
  EncodeObject(PartsObject(), &enc);
  ObjectRecord out;
  for (std::size_t n = 0; n < enc.size(); ++n) {
    EXPECT_EQ(DecodeObject(std::string_view(enc).substr(0, n), &out).code(), Code::kCorruption) << n;
  }
  enc.push_back('\0');
  EXPECT_EQ(DecodeObject(enc, &out).code(), Code::kCorruption);
}

TEST(RecordsV2Test, ByteFlipsNeverCrash) {
  std::string enc;
  EncodeObject(PartsObject(), &enc);
  ObjectRecord out;
  for (std::size_t i = 0; i < enc.size(); ++i) {
    for (uint8_t x : {0x01, 0x80, 0xff}) {
      std::string bad = enc;
      bad[i] = static_cast<char>(bad[i] ^ x);
      Status s = DecodeObject(bad, &out);
      EXPECT_TRUE(s.ok() || s.code() == Code::kCorruption);
    }
  }
}

TEST(RecordsV2Test, SpecificCorruptions) {
  ObjectRecord out;
  std::string enc;
  // A v1 record cannot name parts; a v2 record must.
  EncodeObject(PartsObject(), &enc);
  std::string as_v1 = enc;
  as_v1[0] = static_cast<char>(kFormatV1);
  EXPECT_EQ(DecodeObject(as_v1, &out).code(), Code::kCorruption);
  EncodeObject(SmallInlineObject(), &enc);
  std::string as_v2 = enc;
  as_v2[0] = static_cast<char>(kFormatV2);
  EXPECT_EQ(DecodeObject(as_v2, &out).code(), Code::kCorruption);
  // Sizes that do not add up, an empty list, an inline part of the wrong length.
  ObjectRecord r = PartsObject();
  r.size += 1;
  EncodeObject(r, &enc);
  EXPECT_EQ(DecodeObject(enc, &out).code(), Code::kCorruption);
  r = PartsObject();
  r.parts.clear();
  r.size = 0;
  EncodeObject(r, &enc);
  EXPECT_EQ(DecodeObject(enc, &out).code(), Code::kCorruption);
  r = PartsObject();
  r.parts[2].location = {LocationKind::kInline, "abc", {}, 0};  // size 7
  EncodeObject(r, &enc);
  EXPECT_EQ(DecodeObject(enc, &out).code(), Code::kCorruption);
}

TEST(RecordsV2Test, DecodeIntoReusedRecordClearsParts) {
  std::string a, b;
  EncodeObject(PartsObject(), &a);
  EncodeObject(SmallInlineObject(), &b);
  ObjectRecord out;
  ASSERT_TRUE(DecodeObject(a, &out).ok());
  ASSERT_TRUE(DecodeObject(b, &out).ok());
  EXPECT_TRUE(out.parts.empty());
  EXPECT_TRUE(out.part_sizes.empty());
}

TEST(RecordsV2Test, AppendDataFiles) {
  std::vector<FileRef> files;
  AppendDataFiles(SmallInlineObject(), &files);
  EXPECT_TRUE(files.empty());
  AppendDataFiles(FullMultipartObject(), &files);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0], (FileRef{3, FileId{0x0102030405060708ull, 0x090a0b0c0d0e0f10ull}}));
  files.clear();
  AppendDataFiles(PartsObject(), &files);
  EXPECT_EQ(files, (std::vector<FileRef>{{0, FileId{7, 8}}, {1, FileId{9, 10}}, {0, FileId{11, 12}}}));
}

}  // namespace
}  // namespace mamute::store
