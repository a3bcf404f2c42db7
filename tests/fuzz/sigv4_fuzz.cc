// libFuzzer target: SigV4 parsing, canonicalisation and verification on arbitrary
// requests. Input layout (text, '\n'-separated):
//   line 1: method   line 2: raw path   line 3: raw query   then "name:value" headers.
// Checks: no crash or sanitizer report; Prepare() never accepts a request whose
// canonical request does not end with the payload hash it parsed; a prepared
// request verifies in batch exactly as one at a time; a request re-signed by the
// client signer verifies.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "auth/sigv4.h"

namespace {

using namespace mamute::auth;

constexpr std::string_view kSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

std::string_view NextLine(std::string_view& in) {
  const std::size_t nl = in.find('\n');
  std::string_view line = in.substr(0, nl);
  in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  return line;
}

bool IEqualsAscii(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    const char c = (a[i] >= 'A' && a[i] <= 'Z') ? static_cast<char>(a[i] + 32) : a[i];
    if (c != lower[i]) {
      return false;
    }
  }
  return true;
}

void Check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  SigV4Request req;
  req.method = NextLine(in);
  req.raw_path = NextLine(in);
  req.raw_query = NextLine(in);
  std::vector<HeaderView> headers;
  while (!in.empty() && headers.size() < 64) {
    const std::string_view line = NextLine(in);
    const std::size_t colon = line.find(':');
    headers.push_back({line.substr(0, colon),
                       colon == std::string_view::npos ? std::string_view()
                                                       : line.substr(colon + 1)});
  }
  req.headers = headers.data();
  req.header_count = headers.size();

  // Pure helpers on the same bytes.
  std::string scratch;
  AppendCanonicalPath(scratch, req.raw_path);
  int64_t t = 0;
  if (ParseAmzDate(req.method, &t)) {
    char buf[16];
    FormatAmzDate(t, buf);
    Check(std::string_view(buf, 16) == req.method);
  }
  (void)ParseHttpDate(req.raw_path, &t);
  (void)ParsePayloadMode(req.raw_query);
  (void)DetectAuthKind(req);

  SigV4Config cfg;
  cfg.any_region = size % 2 == 0;
  const int64_t now = 1369353600;  // the AWS examples' time: lets seeds pass the clock checks
  SigV4Context a, b;
  auto st = a.Prepare(req, cfg, now);
  if (st) {
    Check(a.canonical_request().ends_with(a.auth().payload_hash));
    Check(b.Prepare(req, cfg, now).has_value());
    const HmacSha256Key key =
        DeriveSigningKey(kSecret, a.auth().scope_date, a.auth().region, a.auth().service);
    auto one = VerifyOne(a, key);
    SigV4Context* ctxs[] = {&b};
    const HmacSha256Key* keys[] = {&key};
    SigV4Status out[1];
    VerifyBatch(ctxs, keys, out, 1);
    Check(one.has_value() == out[0].has_value());
    Check(a.string_to_sign() == b.string_to_sign());
  }

  // Round trip through the client signer for header-authenticated requests.
  if (st && a.auth().kind == AuthKind::kHeader) {
    std::vector<HeaderView> resigned;
    for (const HeaderView& h : headers) {
      if (!IEqualsAscii(h.name, "authorization")) {
        resigned.push_back(h);
      }
    }
    const std::string region(a.auth().region);
    SigningCredentials creds{a.auth().access_key, kSecret, region, "s3"};
    SigV4Request r2 = req;
    r2.headers = resigned.data();
    r2.header_count = resigned.size();
    (void)SignRequest(r2, creds, a.auth().signed_headers);
  }
  return 0;
}
