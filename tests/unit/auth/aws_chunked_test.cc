// aws-chunked: the AWS documentation's streaming examples (64 KiB + 1 KiB chunks,
// with and without a signed trailer), the unsigned-trailer framing, arbitrary input
// splits, and a tampering table (replayed, reordered, dropped, modified chunks,
// truncations, framing errors, length mismatches).
#include "auth/aws_chunked.h"

#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <string>
#include <vector>

#include "auth/sigv4.h"

namespace mamute::auth {
namespace {

constexpr std::string_view kSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr std::string_view kDate = "20130524T000000Z";
constexpr std::string_view kScope = "20130524/us-east-1/s3/aws4_request";
// Seeds (the request signatures) of the two documented streaming examples.
constexpr std::string_view kSeed = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
constexpr std::string_view kTrailerSeed =
    "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e";

const HmacSha256Key& ExampleKey() {
  static const HmacSha256Key key = DeriveSigningKey(kSecret, "20130524", "us-east-1", "s3");
  return key;
}

AwsChunkedOptions Options(AwsChunkedMode mode, uint64_t len, std::string_view seed = kSeed,
                          std::string_view declared = {}) {
  AwsChunkedOptions o;
  o.mode = mode;
  o.decoded_length = len;
  o.declared_trailers = declared;
  if (mode != AwsChunkedMode::kUnsignedTrailer) {
    o.key = &ExampleKey();
    o.amz_date = kDate;
    o.scope = kScope;
    o.seed_signature = seed;
  }
  return o;
}

struct DecodeResult {
  std::string data;
  std::optional<SigV4Error> error;  // from Feed or Finish
  std::vector<std::pair<std::string, std::string>> trailers;
};

// Feeds `body` in pieces of `piece` bytes (0: all at once), then Finish().
DecodeResult Decode(const AwsChunkedOptions& opts, std::string_view body, std::size_t piece = 0) {
  DecodeResult res;
  AwsChunkedDecoder dec;
  if (auto st = dec.Start(opts); !st) {
    res.error = st.error().error;
    return res;
  }
  if (piece == 0) {
    piece = body.size() + 1;
  }
  for (std::size_t off = 0; off < body.size(); off += piece) {
    auto st = dec.FeedAll(body.substr(off, piece), [&](std::string_view d) { res.data += d; });
    if (!st) {
      res.error = st.error().error;
      return res;
    }
  }
  if (auto st = dec.Finish(); !st) {
    res.error = st.error().error;
    return res;
  }
  for (const TrailerView& t : dec.trailers()) {
    res.trailers.emplace_back(t.name, t.value);
  }
  EXPECT_EQ(dec.decoded_bytes(), res.data.size());
  return res;
}

// The documented body: 65536 + 1024 bytes of 'a' (STREAMING-AWS4-HMAC-SHA256-PAYLOAD).
std::string DocStreamingBody() {
  return "10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
         "\r\n" +
         std::string(65536, 'a') +
         "\r\n400;chunk-signature="
         "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n" +
         std::string(1024, 'a') +
         "\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"
         "\r\n\r\n";
}

// The documented trailer example (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER).
std::string DocTrailerBody(bool blank_line_before_trailers = false) {
  return "10000;chunk-signature=b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2"
         "\r\n" +
         std::string(65536, 'a') +
         "\r\n400;chunk-signature="
         "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7\r\n" +
         std::string(1024, 'a') +
         "\r\n0;chunk-signature=2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992"
         "\r\n" +
         (blank_line_before_trailers ? "\r\n" : "") +
         "x-amz-checksum-crc32c:sOO8/Q==\r\n"
         "x-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435"
         "\r\n\r\n";
}

TEST(AwsChunkedDoc, StreamingExampleDecodes) {
  const std::string body = DocStreamingBody();
  EXPECT_EQ(body.size(), 66824u);  // the example's Content-Length
  for (std::size_t piece : {0, 1, 7, 86, 4096, 65536}) {
    SCOPED_TRACE(piece);
    DecodeResult r = Decode(Options(AwsChunkedMode::kSigned, 66560), body, piece);
    ASSERT_FALSE(r.error) << SigV4ErrorCode(*r.error);
    EXPECT_EQ(r.data, std::string(66560, 'a'));
  }
}

TEST(AwsChunkedDoc, SignerReproducesChunkSignatures) {
  ChunkSigner signer(ExampleKey(), kDate, kScope, kSeed);
  EXPECT_EQ(signer.SignChunk(std::string(65536, 'a')),
            "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648");
  EXPECT_EQ(signer.SignChunk(std::string(1024, 'a')),
            "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497");
  EXPECT_EQ(signer.SignChunk(""),
            "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9");

  ChunkSigner enc(ExampleKey(), kDate, kScope, kSeed);
  const std::string body =
      EncodeAwsChunked(std::string(66560, 'a'), 65536, AwsChunkedMode::kSigned, &enc);
  EXPECT_EQ(body, DocStreamingBody());
  EXPECT_EQ(AwsChunkedEncodedLength(66560, 65536, AwsChunkedMode::kSigned), 66824u);
}

TEST(AwsChunkedDoc, SignedTrailerExampleDecodes) {
  for (bool blank : {false, true}) {
    const std::string body = DocTrailerBody(blank);
    if (!blank) {
      EXPECT_EQ(body.size(), 66946u);
    }
    for (std::size_t piece : {0, 1, 13, 1000}) {
      SCOPED_TRACE(piece);
      DecodeResult r = Decode(Options(AwsChunkedMode::kSignedTrailer, 66560, kTrailerSeed,
                                      "x-amz-checksum-crc32c"),
                              body, piece);
      ASSERT_FALSE(r.error) << SigV4ErrorCode(*r.error);
      EXPECT_EQ(r.data, std::string(66560, 'a'));
      ASSERT_EQ(r.trailers.size(), 1u);
      EXPECT_EQ(r.trailers[0].first, "x-amz-checksum-crc32c");
      EXPECT_EQ(r.trailers[0].second, "sOO8/Q==");
    }
  }
  ChunkSigner enc(ExampleKey(), kDate, kScope, kTrailerSeed);
  const TrailerView t[] = {{"x-amz-checksum-crc32c", "sOO8/Q=="}};
  EXPECT_EQ(EncodeAwsChunked(std::string(66560, 'a'), 65536, AwsChunkedMode::kSignedTrailer, &enc,
                             t),
            DocTrailerBody());
  EXPECT_EQ(AwsChunkedEncodedLength(66560, 65536, AwsChunkedMode::kSignedTrailer, t), 66946u);
}

TEST(AwsChunked, EndToEndFromVerifiedRequest) {
  // The streaming example's request, verified, then its body decoded with the
  // options derived from the context.
  const std::string authz =
      "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
      "SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
      "x-amz-decoded-content-length;x-amz-storage-class,Signature=" +
      std::string(kSeed);
  const HeaderView headers[] = {
      {"Host", "s3.amazonaws.com"},
      {"x-amz-date", "20130524T000000Z"},
      {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
      {"Authorization", authz},
      {"x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"},
      {"Content-Encoding", "aws-chunked"},
      {"x-amz-decoded-content-length", "66560"},
      {"Content-Length", "66824"},
  };
  const SigV4Request req{"PUT", "/examplebucket/chunkObject.txt", "", headers, std::size(headers)};
  SigV4Context ctx;
  ASSERT_TRUE(ctx.Prepare(req, SigV4Config(), 1369353600).has_value());
  ASSERT_TRUE(VerifyOne(ctx, ExampleKey()).has_value());
  auto opts = AwsChunkedOptionsFor(ctx.auth(), &ExampleKey());
  ASSERT_TRUE(opts.has_value());
  EXPECT_EQ(opts->mode, AwsChunkedMode::kSigned);
  EXPECT_EQ(opts->decoded_length, 66560u);
  DecodeResult r = Decode(*opts, DocStreamingBody(), 1500);
  ASSERT_FALSE(r.error);
  EXPECT_EQ(r.data.size(), 66560u);
}

TEST(AwsChunked, UnsignedTrailer) {
  // botocore / JS v3 framing: "hex\r\n", no chunk signatures, a checksum trailer.
  const std::string body =
      "5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n";
  for (std::size_t piece : {0, 1, 3}) {
    DecodeResult r = Decode(Options(AwsChunkedMode::kUnsignedTrailer, 11, {},
                                    "x-amz-checksum-crc32"),
                            body, piece);
    ASSERT_FALSE(r.error) << SigV4ErrorCode(*r.error);
    EXPECT_EQ(r.data, "hello world");
    ASSERT_EQ(r.trailers.size(), 1u);
    EXPECT_EQ(r.trailers[0].second, "DUoRhQ==");
  }
  const TrailerView t[] = {{"x-amz-checksum-crc32", "DUoRhQ=="}};
  EXPECT_EQ(EncodeAwsChunked("hello world", 5, AwsChunkedMode::kUnsignedTrailer, nullptr, t),
            "5\r\nhello\r\n5\r\n worl\r\n1\r\nd\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n");
  EXPECT_EQ(AwsChunkedEncodedLength(11, 5, AwsChunkedMode::kUnsignedTrailer, t),
            EncodeAwsChunked("hello world", 5, AwsChunkedMode::kUnsignedTrailer, nullptr, t).size());
}

TEST(AwsChunked, LenientLineEndings) {
  // minio-go ends the trailer line with "\n\r\n"; the final CRLF may be missing.
  const std::string unsigned_body =
      "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\n\r\n";
  DecodeResult r = Decode(Options(AwsChunkedMode::kUnsignedTrailer, 5, {}, "x-amz-checksum-crc32"),
                          unsigned_body);
  EXPECT_FALSE(r.error);
  EXPECT_EQ(r.data, "hello");

  std::string signed_body = DocStreamingBody();
  signed_body.resize(signed_body.size() - 2);
  r = Decode(Options(AwsChunkedMode::kSigned, 66560), signed_body);
  EXPECT_FALSE(r.error);

  std::string trailer_body = DocTrailerBody();
  trailer_body.resize(trailer_body.size() - 2);  // no final empty line
  r = Decode(Options(AwsChunkedMode::kSignedTrailer, 66560, kTrailerSeed), trailer_body);
  EXPECT_FALSE(r.error);
}

TEST(AwsChunked, EmptyPayload) {
  ChunkSigner enc(ExampleKey(), kDate, kScope, kSeed);
  const std::string body = EncodeAwsChunked("", 65536, AwsChunkedMode::kSigned, &enc);
  EXPECT_EQ(body.size(), AwsChunkedEncodedLength(0, 65536, AwsChunkedMode::kSigned));
  DecodeResult r = Decode(Options(AwsChunkedMode::kSigned, 0), body);
  EXPECT_FALSE(r.error);
  EXPECT_TRUE(r.data.empty());
}

TEST(AwsChunked, RandomSplitsMatchWholeInput) {
  std::mt19937 rng(42);
  std::string payload(100000, '\0');
  for (char& c : payload) {
    c = static_cast<char>(rng());
  }
  const TrailerView t[] = {{"x-amz-checksum-sha256", "abc="}};
  ChunkSigner enc(ExampleKey(), kDate, kScope, kSeed);
  const std::string body =
      EncodeAwsChunked(payload, 8192, AwsChunkedMode::kSignedTrailer, &enc, t);
  EXPECT_EQ(body.size(), AwsChunkedEncodedLength(payload.size(), 8192,
                                                 AwsChunkedMode::kSignedTrailer, t));
  AwsChunkedDecoder dec;
  ASSERT_TRUE(dec.Start(Options(AwsChunkedMode::kSignedTrailer, payload.size(), kSeed,
                                "x-amz-checksum-sha256"))
                  .has_value());
  std::string out;
  std::size_t off = 0;
  while (off < body.size()) {
    const std::size_t n = std::min<std::size_t>(rng() % 3000 + 1, body.size() - off);
    ASSERT_TRUE(dec.FeedAll(std::string_view(body).substr(off, n),
                            [&](std::string_view d) { out += d; })
                    .has_value());
    off += n;
  }
  ASSERT_TRUE(dec.Finish().has_value());
  EXPECT_EQ(out, payload);
  EXPECT_TRUE(dec.done());
}

// ---------------------------------------------------------------------------
// Tampering. A signed body of three 16-byte chunks ("0123456789abcdef", ...).

std::string ThreeChunkPayload() { return "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCC"; }

std::string SignedThreeChunks(AwsChunkedMode mode = AwsChunkedMode::kSigned) {
  ChunkSigner enc(ExampleKey(), kDate, kScope, kSeed);
  const TrailerView t[] = {{"x-amz-checksum-crc32", "AAAAAA=="}};
  return EncodeAwsChunked(ThreeChunkPayload(), 16, mode, &enc,
                          mode == AwsChunkedMode::kSigned ? std::span<const TrailerView>() : t);
}

// Byte ranges of chunk i (header line through the CRLF after its data).
std::string_view ChunkFrame(std::string_view body, int i) {
  std::size_t start = 0;
  for (int k = 0; k < i; ++k) {
    start = body.find("\r\n", body.find("\r\n", start) + 2) + 2;
  }
  const std::size_t end = body.find("\r\n", body.find("\r\n", start) + 2) + 2;
  return body.substr(start, end - start);
}

struct TamperCase {
  const char* name;
  AwsChunkedMode mode;
  std::string (*mutate)(std::string body);
  uint64_t decoded_length;
  SigV4Error expected;
  const char* declared = "";
};

TEST(AwsChunkedTamper, Table) {
  constexpr auto kS = AwsChunkedMode::kSigned;
  constexpr auto kST = AwsChunkedMode::kSignedTrailer;
  constexpr auto kUT = AwsChunkedMode::kUnsignedTrailer;
  const TamperCase cases[] = {
      {"ModifiedDataByte", kS,
       [](std::string b) {
         b[b.find("BBBB")] = 'b';
         return b;
       },
       48, SigV4Error::kSignatureDoesNotMatch},
      {"ReplayedChunk", kS,
       [](std::string b) {
         const std::string c0(ChunkFrame(b, 0));
         const std::string c1(ChunkFrame(b, 1));
         b.replace(b.find(c1), c1.size(), c0);  // chunk 0 sent twice
         return b;
       },
       48, SigV4Error::kSignatureDoesNotMatch},
      {"ReorderedChunks", kS,
       [](std::string b) {
         const std::string c0(ChunkFrame(b, 0));
         const std::string c1(ChunkFrame(b, 1));
         return c1 + c0 + b.substr(c0.size() + c1.size());
       },
       48, SigV4Error::kSignatureDoesNotMatch},
      {"DroppedChunk", kS,
       [](std::string b) {
         const std::string c1(ChunkFrame(b, 1));
         return b.erase(b.find(c1), c1.size());
       },
       32, SigV4Error::kSignatureDoesNotMatch},
      {"ChunkFromAnotherUpload", kS,
       [](std::string b) {
         // Same data, chained from another seed: a valid-looking signature that does not chain.
         ChunkSigner other(ExampleKey(), kDate, kScope, kTrailerSeed);
         const std::string c0(ChunkFrame(b, 0));
         const std::string sig = other.SignChunk("AAAAAAAAAAAAAAAA");
         b.replace(c0.find('=') + 1, 64, sig);
         return b;
       },
       48, SigV4Error::kSignatureDoesNotMatch},
      {"FinalChunkSignatureChanged", kS,
       [](std::string b) {
         const std::size_t p = b.rfind("0;chunk-signature=") + 18;
         b[p] = b[p] == 'a' ? 'b' : 'a';
         return b;
       },
       48, SigV4Error::kSignatureDoesNotMatch},
      {"TruncatedInData", kS, [](std::string b) { return b.substr(0, b.find("BBBB") + 3); }, 48,
       SigV4Error::kIncompleteBody},
      {"TruncatedBeforeFinalChunk", kS,
       [](std::string b) { return b.substr(0, b.rfind("0;chunk-signature=")); }, 48,
       SigV4Error::kIncompleteBody},
      {"TruncatedInHeaderLine", kS,
       [](std::string b) { return b.substr(0, b.find("BBBB") + 18); }, 48,
       SigV4Error::kIncompleteBody},
      {"DecodedLengthTooLarge", kS, [](std::string b) { return b; }, 49,
       SigV4Error::kIncompleteBody},
      {"DecodedLengthTooSmall", kS, [](std::string b) { return b; }, 47,
       SigV4Error::kInvalidRequest},
      {"BadChunkSize", kS,
       [](std::string b) {
         b[0] = 'g';
         return b;
       },
       48, SigV4Error::kInvalidRequest},
      {"ChunkSizeOverflow", kS, [](std::string b) { return "fffffffffffffffff" + b.substr(2); },
       48, SigV4Error::kInvalidRequest},
      {"MissingCrlfAfterData", kS,
       [](std::string b) {
         b.erase(b.find("AAAAAAAAAAAAAAAA") + 16, 2);
         return b;
       },
       48, SigV4Error::kInvalidRequest},
      {"MissingChunkSignature", kS,
       [](std::string b) { return "10\r\n" + b.substr(b.find("\r\n") + 2); }, 48,
       SigV4Error::kInvalidRequest},
      {"BareLfHeader", kS,
       [](std::string b) {
         b.erase(b.find("\r\n"), 1);
         return b;
       },
       48, SigV4Error::kInvalidRequest},
      {"HeaderLineTooLong", kS,
       [](std::string b) { return std::string(5000, '1') + b; }, 48, SigV4Error::kInvalidRequest},
      {"DataAfterEnd", kS, [](std::string b) { return b + "x"; }, 48,
       SigV4Error::kInvalidRequest},
      {"TrailerValueChanged", kST,
       [](std::string b) {
         b.replace(b.find("AAAAAA=="), 8, "BBBBBB==");
         return b;
       },
       48, SigV4Error::kSignatureDoesNotMatch, "x-amz-checksum-crc32"},
      {"TrailerSignatureChanged", kST,
       [](std::string b) {
         const std::size_t p = b.find("x-amz-trailer-signature:") + 24;
         b[p] = b[p] == 'a' ? 'b' : 'a';
         return b;
       },
       48, SigV4Error::kSignatureDoesNotMatch, "x-amz-checksum-crc32"},
      {"TruncatedTrailer", kST,
       [](std::string b) { return b.substr(0, b.find("x-amz-trailer-signature:") + 40); }, 48,
       SigV4Error::kIncompleteBody, "x-amz-checksum-crc32"},
      {"TrailerSignatureMissing", kST,
       [](std::string b) { return b.substr(0, b.find("x-amz-trailer-signature:")) + "\r\n"; },
       48, SigV4Error::kIncompleteBody, "x-amz-checksum-crc32"},
      {"TrailerAfterSignature", kST,
       [](std::string b) {
         b.insert(b.size() - 2, "x-amz-meta-x:1\r\n");
         return b;
       },
       48, SigV4Error::kInvalidRequest},
      {"UndeclaredTrailer", kST, [](std::string b) { return b; }, 48,
       SigV4Error::kInvalidRequest, "x-amz-checksum-sha256"},
      {"UnsignedChunkInUnsignedModeWithSignature", kUT,
       [](std::string) {
         return std::string("5;chunk-signature=") + std::string(64, 'a') + "\r\nhello\r\n0\r\n\r\n";
       },
       5, SigV4Error::kInvalidRequest},
      {"UnsignedMissingDeclaredTrailer", kUT, [](std::string) { return std::string("5\r\nhello\r\n0\r\n\r\n"); },
       5, SigV4Error::kIncompleteBody, "x-amz-checksum-crc32"},
      {"UnsignedTrailerWithSignatureLine", kUT,
       [](std::string) {
         return "0\r\nx-amz-trailer-signature:" + std::string(64, 'a') + "\r\n\r\n";
       },
       0, SigV4Error::kInvalidRequest},
      {"UnsignedMalformedTrailer", kUT,
       [](std::string) { return std::string("0\r\nno-colon\r\n\r\n"); }, 0,
       SigV4Error::kInvalidRequest},
  };
  for (const TamperCase& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string good = SignedThreeChunks(c.mode == AwsChunkedMode::kUnsignedTrailer
                                                   ? AwsChunkedMode::kSigned
                                                   : c.mode);
    const std::string bad = c.mutate(good);
    const AwsChunkedOptions opts = Options(c.mode, c.decoded_length, kSeed, c.declared);
    for (std::size_t piece : {0, 1, 5}) {
      DecodeResult r = Decode(opts, bad, piece);
      ASSERT_TRUE(r.error.has_value()) << "piece " << piece;
      EXPECT_EQ(SigV4ErrorCode(*r.error), SigV4ErrorCode(c.expected)) << "piece " << piece;
    }
  }
}

TEST(AwsChunkedTamper, BaselinesDecode) {
  for (AwsChunkedMode m : {AwsChunkedMode::kSigned, AwsChunkedMode::kSignedTrailer}) {
    DecodeResult r = Decode(Options(m, 48, kSeed, m == AwsChunkedMode::kSigned ? "" : "x-amz-checksum-crc32"),
                            SignedThreeChunks(m), 3);
    ASSERT_FALSE(r.error);
    EXPECT_EQ(r.data, ThreeChunkPayload());
  }
}

TEST(AwsChunked, ChunkSizeLimit) {
  AwsChunkedOptions o = Options(AwsChunkedMode::kUnsignedTrailer, 100);
  o.max_chunk_size = 10;
  DecodeResult r = Decode(o, "b\r\nhello world\r\n0\r\n\r\n");
  ASSERT_TRUE(r.error);
  EXPECT_EQ(*r.error, SigV4Error::kInvalidRequest);
}

TEST(AwsChunked, ErrorsAreSticky) {
  AwsChunkedDecoder dec;
  ASSERT_TRUE(dec.Start(Options(AwsChunkedMode::kUnsignedTrailer, 5)).has_value());
  EXPECT_FALSE(dec.Feed("zz\r\n").has_value());
  auto again = dec.Feed("5\r\nhello\r\n");
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().error, SigV4Error::kInvalidRequest);
  EXPECT_FALSE(dec.Finish().has_value());
}

TEST(AwsChunked, StartValidatesOptions) {
  AwsChunkedDecoder dec;
  AwsChunkedOptions o = Options(AwsChunkedMode::kSigned, 5);
  o.seed_signature = "nothex";
  EXPECT_FALSE(dec.Start(o).has_value());
  o = Options(AwsChunkedMode::kSigned, 5);
  o.key = nullptr;
  EXPECT_FALSE(dec.Start(o).has_value());
  SigV4Auth auth;
  auth.payload_mode = PayloadMode::kUnsigned;
  EXPECT_FALSE(AwsChunkedOptionsFor(auth, &ExampleKey()).has_value());
  auth.payload_mode = PayloadMode::kStreamingUnsignedTrailer;
  auto missing = AwsChunkedOptionsFor(auth, nullptr);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().error, SigV4Error::kMissingContentLength);
  auth.decoded_content_length = 5;
  EXPECT_TRUE(AwsChunkedOptionsFor(auth, nullptr).has_value());
}

}  // namespace
}  // namespace mamute::auth
