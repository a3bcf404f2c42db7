// libFuzzer target: POST policy uploads — the multipart/form-data parser and the policy
// document (base64 JSON) with its evaluation.
// Input: [u8 piece size][u16 policy length][policy JSON][form body]. Checks: no crash or
// sanitizer report; feeding the form whole or in pieces gives the same fields, file bytes and
// verdict; the fields before the file stay within kMaxPostPreDataBytes; evaluating a parsed
// policy against the parsed fields never crashes.
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cstdlib>
#include <string>
#include <string_view>

#include "s3/post_policy.h"
#include "util/encoding.h"

namespace {

using namespace mamute::s3;

struct Collect final : FormParser::Sink {
  std::string filename, data;
  bool OnFileStart(std::string_view f, std::string_view) override {
    filename = f;
    return true;
  }
  bool OnFileData(std::string_view d) override {
    if (data.size() < (1u << 20)) data.append(d);
    return true;
  }
};

struct Outcome {
  bool ok = false;
  std::vector<FormField> fields;
  std::string filename, data;
};

Outcome RunForm(std::string_view body, std::size_t piece) {
  FormParser p("b0undary");
  Collect sink;
  Outcome o;
  bool ok = true;
  for (std::size_t i = 0; i < body.size() && ok; i += piece) ok = p.Feed(body.substr(i, piece), &sink);
  o.ok = ok && p.Finish();
  std::size_t pre = 0;
  for (const FormField& f : p.fields()) pre += f.name.size() + f.value.size();
  if (pre > kMaxPostPreDataBytes) std::abort();
  o.fields = p.fields();
  o.filename = sink.filename;
  o.data = sink.data;
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  std::size_t piece = data[0] == 0 ? 1 : data[0];
  std::size_t plen = (static_cast<std::size_t>(data[1]) << 8) | data[2];
  std::string_view rest(reinterpret_cast<const char*>(data) + 3, size - 3);
  plen = std::min(plen, rest.size());
  std::string_view policy_json = rest.substr(0, plen);
  std::string_view body = rest.substr(plen);

  PostFailure f{S3Error::kInternalError, {}};
  auto policy = ParsePostPolicy(mamute::util::Base64Encode(policy_json.data(), policy_json.size()), &f);
  if (!policy && f.error != S3Error::kInvalidPolicyDocument) std::abort();

  Outcome whole = RunForm(body, body.size() + 1);
  Outcome split = RunForm(body, piece);
  if (whole.ok != split.ok) std::abort();
  // A failure may stop at a different field depending on where the pieces end; a success
  // must be identical.
  if (whole.ok && (whole.filename != split.filename || whole.data != split.data ||
                   whole.fields.size() != split.fields.size())) {
    std::abort();
  }
  for (std::size_t i = 0; whole.ok && i < whole.fields.size(); ++i) {
    if (whole.fields[i].name != split.fields[i].name || whole.fields[i].value != split.fields[i].value) std::abort();
  }
  if (policy) {
    std::string key = SubstituteFilename(whole.fields.empty() ? "k/${filename}" : whole.fields[0].value, whole.filename);
    (void)CheckPostPolicy(*policy, whole.fields, "bucket", key, 1800000000);
  }
  return 0;
}
