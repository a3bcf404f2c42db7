#include "s3/post_policy.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <ctime>
#include <nlohmann/json.hpp>

#include "http/request.h"
#include "util/encoding.h"

namespace mamute::s3 {
namespace {

constexpr std::size_t kMaxPartHeaderBytes = 8u << 10;

char Lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string LowerCopy(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}

bool EqualFold(std::string_view a, std::string_view b) noexcept { return http::EqualsIgnoreCase(a, b); }

std::string_view Trim(std::string_view v) noexcept {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

// One parameter value of a header (token or quoted-string, RFC 7230 §3.2.6), from `s`
// (positioned after '='); advances s past it.
std::string ParamValue(std::string_view* s) {
  std::string out;
  std::string_view v = *s;
  if (!v.empty() && v.front() == '"') {
    std::size_t i = 1;
    for (; i < v.size() && v[i] != '"'; ++i) {
      if (v[i] == '\\' && i + 1 < v.size()) ++i;
      out.push_back(v[i]);
    }
    *s = v.substr(std::min(v.size(), i + 1));
    return out;
  }
  std::size_t end = v.find(';');
  out = std::string(Trim(v.substr(0, end)));
  *s = end == std::string_view::npos ? std::string_view() : v.substr(end);
  return out;
}

// Calls f(lower-case name, value) for each "; name=value" parameter after the first item.
template <typename F>
void ForEachParam(std::string_view v, F&& f) {
  std::size_t semi = v.find(';');
  if (semi == std::string_view::npos) return;
  v.remove_prefix(semi);
  while (!v.empty()) {
    if (v.front() != ';') {
      std::size_t next = v.find(';');
      if (next == std::string_view::npos) return;
      v.remove_prefix(next);
    }
    v.remove_prefix(1);
    v = Trim(v);
    std::size_t eq = v.find('=');
    if (eq == std::string_view::npos) return;
    std::string name = LowerCopy(Trim(v.substr(0, eq)));
    v.remove_prefix(eq + 1);
    v = Trim(v);
    std::string value = ParamValue(&v);
    f(name, value);
  }
}

}  // namespace

std::optional<std::string> FormBoundary(std::string_view content_type) {
  std::size_t semi = content_type.find(';');
  if (!EqualFold(Trim(content_type.substr(0, semi)), "multipart/form-data")) return std::nullopt;
  std::optional<std::string> boundary;
  ForEachParam(content_type, [&](const std::string& name, const std::string& value) {
    if (name == "boundary" && !boundary) boundary = value;
  });
  if (!boundary || boundary->empty() || boundary->size() > 70) return std::nullopt;
  for (char c : *boundary) {
    if (c == '\r' || c == '\n' || c == '\0') return std::nullopt;
  }
  return boundary;
}

// ---------------------------------------------------------------- FormParser

FormParser::FormParser(std::string boundary) : delimiter_("\r\n--" + boundary) {}

const std::string* FormParser::Field(std::string_view name) const noexcept {
  for (const FormField& f : fields_) {
    if (EqualFold(f.name, name)) return &f.value;
  }
  return nullptr;
}

bool FormParser::Fail(S3Error e, std::string message) {
  if (!failure_) failure_ = PostFailure{e, std::move(message)};
  state_ = State::kFailed;
  buf_.clear();
  return false;
}

bool FormParser::ParsePartHeaders(std::string_view block) {
  part_name_.clear();
  part_filename_.clear();
  part_type_.clear();
  bool disposition = false;
  while (!block.empty()) {
    std::size_t eol = block.find("\r\n");
    std::string_view line = block.substr(0, eol);
    block = eol == std::string_view::npos ? std::string_view() : block.substr(eol + 2);
    if (line.empty()) continue;
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return Fail(S3Error::kMalformedPOSTRequest, {});
    std::string_view name = Trim(line.substr(0, colon));
    std::string_view value = Trim(line.substr(colon + 1));
    if (EqualFold(name, "content-disposition")) {
      std::size_t semi = value.find(';');
      if (!EqualFold(Trim(value.substr(0, semi)), "form-data")) return Fail(S3Error::kMalformedPOSTRequest, {});
      disposition = true;
      ForEachParam(value, [&](const std::string& pn, const std::string& pv) {
        if (pn == "name") part_name_ = pv;
        if (pn == "filename") part_filename_ = pv;
      });
    } else if (EqualFold(name, "content-type")) {
      part_type_ = std::string(value);
    }
  }
  if (!disposition || part_name_.empty()) return Fail(S3Error::kMalformedPOSTRequest, {});
  return true;
}

// One step of the state machine over *in; false: needs more input or stopped.
bool FormParser::Step(std::string_view* in, Sink* sink) {
  const std::string_view dash_boundary = std::string_view(delimiter_).substr(2);
  switch (state_) {
    case State::kPreamble: {
      // The first delimiter may open the body (no CRLF before it); anything before is preamble.
      std::size_t p = in->find(dash_boundary);
      if (p == std::string_view::npos) {
        if (in->size() >= dash_boundary.size()) {
          pre_bytes_ += in->size() - dash_boundary.size() + 1;
          in->remove_prefix(in->size() - dash_boundary.size() + 1);
        }
        return false;
      }
      in->remove_prefix(p + dash_boundary.size());
      pre_bytes_ += p + dash_boundary.size();
      state_ = State::kAfterDelimiter;
      return true;
    }
    case State::kAfterDelimiter: {
      if (in->size() < 2) return false;
      if (in->starts_with("--")) {
        // The closing delimiter before any file part.
        return Fail(S3Error::kIncorrectNumberOfFilesInPostRequest, {});
      }
      if (!in->starts_with("\r\n")) return Fail(S3Error::kMalformedPOSTRequest, {});
      in->remove_prefix(2);
      pre_bytes_ += 2;
      state_ = State::kHeaders;
      return true;
    }
    case State::kHeaders: {
      std::size_t end = in->starts_with("\r\n") ? 0 : in->find("\r\n\r\n");
      if (end == std::string_view::npos || end > kMaxPartHeaderBytes) {
        // The same verdict however the body was split: a block over the limit fails.
        if (std::min(end, in->size()) > kMaxPartHeaderBytes) return Fail(S3Error::kMalformedPOSTRequest, {});
        return false;
      }
      std::string_view block = in->substr(0, end);
      const std::size_t n = end == 0 ? 2 : end + 4;
      in->remove_prefix(n);
      pre_bytes_ += n;
      if (pre_bytes_ > kMaxPostPreDataBytes) return Fail(S3Error::kMaxPostPreDataLengthExceeded, {});
      if (!ParsePartHeaders(block)) return false;
      if (EqualFold(part_name_, "file")) {
        state_ = State::kFile;
        if (!sink->OnFileStart(part_filename_, part_type_)) {
          state_ = State::kFailed;
          return false;
        }
      } else {
        if (Field(part_name_) != nullptr) {
          return Fail(S3Error::kInvalidArgument, "The form field " + part_name_ + " appears more than once.");
        }
        state_ = State::kValue;
      }
      return true;
    }
    case State::kValue: {
      std::size_t p = in->find(delimiter_);
      if (p == std::string_view::npos) return false;
      pre_bytes_ += p + delimiter_.size();
      if (pre_bytes_ > kMaxPostPreDataBytes) return Fail(S3Error::kMaxPostPreDataLengthExceeded, {});
      fields_.push_back(FormField{part_name_, std::string(in->substr(0, p))});
      in->remove_prefix(p + delimiter_.size());
      state_ = State::kAfterDelimiter;
      return true;
    }
    case State::kFile: {
      std::size_t p = in->find(delimiter_);
      std::size_t take = p;
      if (p == std::string_view::npos) {
        // Keep what could be the start of a delimiter split across pieces.
        take = in->size() >= delimiter_.size() ? in->size() - delimiter_.size() + 1 : 0;
        if (take == 0) return false;
      }
      if (take != 0 && !sink->OnFileData(in->substr(0, take))) {
        state_ = State::kFailed;
        return false;
      }
      if (p == std::string_view::npos) {
        in->remove_prefix(take);
        return false;
      }
      in->remove_prefix(p + delimiter_.size());
      state_ = State::kEpilogue;  // fields after the file are ignored, as S3 does
      return true;
    }
    case State::kEpilogue:
      in->remove_prefix(in->size());
      return false;
    case State::kFailed: return false;
  }
  return false;
}

bool FormParser::Feed(std::string_view data, Sink* sink) {
  if (state_ == State::kFailed) return false;
  if (state_ == State::kEpilogue) return true;
  buf_.append(data);
  std::string_view in(buf_);
  const std::size_t before = in.size();
  while (Step(&in, sink)) {
  }
  if (state_ == State::kFailed) {
    buf_.clear();
    return false;
  }
  // Everything before the file counts, consumed (Step) or still buffered.
  if (state_ != State::kFile && state_ != State::kEpilogue && pre_bytes_ + in.size() > kMaxPostPreDataBytes) {
    return Fail(S3Error::kMaxPostPreDataLengthExceeded, {});
  }
  buf_.erase(0, before - in.size());
  return true;
}

bool FormParser::Finish() {
  if (state_ == State::kEpilogue) return true;
  if (state_ == State::kFailed) return false;
  if (state_ == State::kFile) return Fail(S3Error::kIncompleteBody, "The multipart/form-data body ended inside the file.");
  return Fail(S3Error::kIncorrectNumberOfFilesInPostRequest, {});
}

// ---------------------------------------------------------------- policy

std::optional<int64_t> ParseIso8601(std::string_view s) noexcept {
  // YYYY-MM-DDTHH:MM:SS[.fraction]Z
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  auto num = [&](std::size_t pos, std::size_t len, int* out) {
    auto [p, ec] = std::from_chars(s.data() + pos, s.data() + pos + len, *out);
    return ec == std::errc() && p == s.data() + pos + len && s[pos] != '-' && s[pos] != '+';
  };
  int y, mo, d, h, mi, se;
  if (!num(0, 4, &y) || !num(5, 2, &mo) || !num(8, 2, &d) || !num(11, 2, &h) || !num(14, 2, &mi) ||
      !num(17, 2, &se)) {
    return std::nullopt;
  }
  std::string_view rest = s.substr(19);
  if (rest.starts_with('.')) {
    std::size_t i = 1;
    while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9') ++i;
    if (i == 1) return std::nullopt;
    rest.remove_prefix(i);
  }
  if (rest != "Z") return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = se;
  return static_cast<int64_t>(timegm(&tm));
}

namespace {

using nlohmann::json;

std::optional<int64_t> JsonInt(const json& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    return u > static_cast<uint64_t>(INT64_MAX) ? std::nullopt : std::optional<int64_t>(static_cast<int64_t>(u));
  }
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    int64_t out = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ec == std::errc() && p == s.data() + s.size() && !s.empty()) return out;
  }
  return std::nullopt;
}

bool ParseCondition(const json& c, PostPolicy* policy) {
  if (c.is_object()) {
    if (c.size() != 1) return false;
    auto it = c.begin();
    if (!it.value().is_string()) return false;
    PolicyCondition pc;
    pc.kind = PolicyCondition::Kind::kEq;
    pc.field = LowerCopy(it.key());
    if (!pc.field.empty() && pc.field[0] == '$') pc.field.erase(0, 1);
    pc.value = it.value().get<std::string>();
    pc.text = c.dump();
    policy->conditions.push_back(std::move(pc));
    return true;
  }
  if (!c.is_array() || c.size() != 3 || !c[0].is_string()) return false;
  std::string op = LowerCopy(c[0].get<std::string>());
  PolicyCondition pc;
  pc.text = c.dump();
  if (op == "content-length-range") {
    auto lo = JsonInt(c[1]), hi = JsonInt(c[2]);
    if (!lo || !hi || *lo < 0 || *hi < *lo) return false;
    pc.kind = PolicyCondition::Kind::kLengthRange;
    pc.min = *lo;
    pc.max = *hi;
    policy->length_range = std::make_pair(*lo, *hi);
    policy->conditions.push_back(std::move(pc));
    return true;
  }
  if (op != "eq" && op != "starts-with") return false;
  if (!c[1].is_string() || !c[2].is_string()) return false;
  const std::string& field = c[1].get_ref<const std::string&>();
  if (field.size() < 2 || field[0] != '$') return false;
  pc.kind = op == "eq" ? PolicyCondition::Kind::kEq : PolicyCondition::Kind::kStartsWith;
  pc.field = LowerCopy(std::string_view(field).substr(1));
  pc.value = c[2].get<std::string>();
  policy->conditions.push_back(std::move(pc));
  return true;
}

}  // namespace

Result<PostPolicy> ParsePostPolicy(std::string_view policy_b64, PostFailure* failure) {
  auto fail = [&](std::string msg) -> Result<PostPolicy> {
    *failure = PostFailure{S3Error::kInvalidPolicyDocument, "Invalid Policy: " + msg};
    return Err(Status::InvalidArgument(failure->message));
  };
  auto text = util::Base64Decode(policy_b64);
  if (!text) return fail("Invalid 'POST' form: the policy is not base64.");
  json doc = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return fail("Invalid JSON.");
  PostPolicy policy;
  auto exp = doc.find("expiration");
  if (exp == doc.end()) return fail("Policy missing expiration.");
  if (!exp->is_string()) return fail("Invalid 'expiration' value.");
  auto t = ParseIso8601(exp->get_ref<const std::string&>());
  if (!t) return fail("Invalid 'expiration' value: '" + exp->get<std::string>() + "'");
  policy.expiration_s = *t;
  auto conds = doc.find("conditions");
  if (conds == doc.end()) return fail("Policy missing conditions.");
  if (!conds->is_array()) return fail("Invalid 'conditions' value.");
  for (const json& c : *conds) {
    if (!ParseCondition(c, &policy)) return fail("Invalid Condition: " + c.dump());
  }
  return policy;
}

std::string SubstituteFilename(std::string_view key, std::string_view filename) {
  constexpr std::string_view kVar = "${filename}";
  std::size_t slash = filename.find_last_of("/\\");
  if (slash != std::string_view::npos) filename.remove_prefix(slash + 1);
  std::string out;
  std::size_t pos = 0;
  for (;;) {
    std::size_t p = key.find(kVar, pos);
    if (p == std::string_view::npos) break;
    out.append(key.substr(pos, p - pos));
    out.append(filename);
    pos = p + kVar.size();
  }
  out.append(key.substr(pos));
  return out;
}

std::optional<PostFailure> CheckPostPolicy(const PostPolicy& policy, const std::vector<FormField>& fields,
                                           std::string_view bucket, std::string_view key, int64_t now_s) {
  auto denied = [](std::string why) {
    return PostFailure{S3Error::kAccessDenied, "Invalid according to Policy: " + why};
  };
  if (now_s > policy.expiration_s) return denied("Policy expired.");
  auto field = [&](std::string_view name) -> std::string_view {
    if (name == "bucket") return bucket;
    if (name == "key") return key;
    for (const FormField& f : fields) {
      if (EqualFold(f.name, name)) return f.value;
    }
    return {};
  };
  for (const PolicyCondition& c : policy.conditions) {
    if (c.kind == PolicyCondition::Kind::kLengthRange) continue;  // checked as the file streams
    std::string_view v = field(c.field);
    bool ok;
    if (c.kind == PolicyCondition::Kind::kEq) {
      ok = v == c.value;
    } else if (c.field == "content-type") {
      // Each of a comma-separated list of types must match (S3).
      ok = true;
      std::string_view rest = v;
      do {
        std::size_t comma = rest.find(',');
        ok = ok && Trim(rest.substr(0, comma)).starts_with(c.value);
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      } while (!rest.empty());
    } else {
      ok = v.starts_with(c.value);
    }
    if (!ok) return denied("Policy Condition failed: " + c.text);
  }
  for (const FormField& f : fields) {
    std::string n = LowerCopy(f.name);
    if (n == "policy" || n == "x-amz-signature" || n == "file" || n.starts_with("x-ignore-")) continue;
    bool named = false;
    for (const PolicyCondition& c : policy.conditions) named = named || c.field == n;
    if (!named) return denied("Extra input fields: " + f.name);
  }
  return std::nullopt;
}

}  // namespace mamute::s3
