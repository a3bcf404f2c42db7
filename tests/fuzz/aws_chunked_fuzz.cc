// libFuzzer target: the aws-chunked decoder on arbitrary bodies, in all three
// modes. Input: byte 0 selects the mode and the feed size, bytes 1-2 the decoded
// length, the rest is the body. Checks: no crash or sanitizer report; feeding the
// body whole and one byte at a time gives the same verdict and the same output;
// the decoded output never exceeds the decoded length.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "auth/aws_chunked.h"

namespace {

using namespace mamute::auth;

void Check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

struct Outcome {
  bool ok = false;
  SigV4Error error = SigV4Error::kInvalidRequest;
  std::string data;
};

Outcome Run(const AwsChunkedOptions& opts, std::string_view body, std::size_t piece) {
  Outcome o;
  AwsChunkedDecoder dec;
  if (!dec.Start(opts)) {
    return o;
  }
  for (std::size_t off = 0; off < body.size(); off += piece) {
    std::string_view in = body.substr(off, piece);
    while (!in.empty()) {
      auto r = dec.Feed(in);
      if (!r) {
        o.error = r.error().error;
        return o;
      }
      Check(r->consumed <= in.size() && (r->consumed > 0 || in.empty()));
      o.data += r->data;
      in.remove_prefix(r->consumed);
    }
  }
  auto st = dec.Finish();
  o.ok = st.has_value();
  if (!st) {
    o.error = st.error().error;
  }
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size < 3) {
    return 0;
  }
  static const HmacSha256Key key = DeriveSigningKey(
      "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524", "us-east-1", "s3");
  AwsChunkedOptions opts;
  opts.mode = static_cast<AwsChunkedMode>(data[0] % 3);
  opts.decoded_length = static_cast<uint64_t>(data[1]) << 8 | data[2];
  opts.declared_trailers = (data[0] & 0x10) != 0 ? "x-amz-checksum-crc32" : "";
  opts.max_chunk_size = 1 << 16;
  opts.key = &key;
  opts.amz_date = "20130524T000000Z";
  opts.scope = "20130524/us-east-1/s3/aws4_request";
  opts.seed_signature = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
  const std::string_view body(reinterpret_cast<const char*>(data) + 3, size - 3);

  const Outcome whole = Run(opts, body, body.size() + 1);
  const Outcome bytes = Run(opts, body, 1 + (data[0] >> 5));
  Check(whole.ok == bytes.ok);
  if (whole.ok) {
    Check(whole.data == bytes.data);
    Check(whole.data.size() == opts.decoded_length);
  } else {
    Check(whole.error == bytes.error);
  }
  Check(whole.data.size() <= opts.decoded_length);
  return 0;
}
