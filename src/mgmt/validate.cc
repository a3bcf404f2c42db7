#include "mgmt/validate.h"

#include <cstdio>

namespace mamute::mgmt {
namespace {

bool IsDigit(char c) noexcept { return c >= '0' && c <= '9'; }

int HexValue(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::string_view> NormalizeStorageClass(std::string_view in) noexcept {
  for (std::string_view c : kStorageClasses) {
    if (c.size() != in.size()) continue;
    bool eq = true;
    for (std::size_t i = 0; i < c.size() && eq; ++i) {
      char a = in[i];
      if (a >= 'a' && a <= 'z') a = static_cast<char>(a - 'a' + 'A');
      eq = a == c[i];
    }
    if (eq) return c;
  }
  return std::nullopt;
}

std::optional<std::string> PercentDecode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      int hi = HexValue(in[i + 1]), lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::optional<std::vector<QueryParam>> ParseQuery(std::string_view query) {
  std::vector<QueryParam> out;
  std::size_t pos = 0;
  while (pos < query.size()) {
    std::size_t amp = query.find('&', pos);
    std::string_view part = query.substr(pos, amp == std::string_view::npos ? std::string_view::npos : amp - pos);
    pos = amp == std::string_view::npos ? query.size() : amp + 1;
    if (part.empty()) continue;
    std::size_t eq = part.find('=');
    auto name = PercentDecode(part.substr(0, eq));
    auto value = PercentDecode(eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1));
    if (!name || !value) return std::nullopt;
    out.push_back({std::move(*name), std::move(*value)});
  }
  return out;
}

std::optional<int64_t> ParseBoundedInt(std::string_view s, int64_t min, int64_t max) noexcept {
  if (s.empty() || s.size() > 18) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (!IsDigit(c)) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  if (v < min || v > max) return std::nullopt;
  return v;
}

std::string FormatBucketId(uint64_t id) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(id));
  return std::string(buf, 16);
}

std::optional<uint64_t> ParseBucketId(std::string_view s) noexcept {
  if (s.size() != 16) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    int h = HexValue(c);
    if (h < 0 || (c >= 'A' && c <= 'F')) return std::nullopt;
    v = (v << 4) | static_cast<uint64_t>(h);
  }
  return v;
}

std::optional<BodyError> ParseJsonBody(std::string_view body, bool empty_ok, nlohmann::json* out) {
  std::string_view b = body;
  while (!b.empty() && (b.front() == ' ' || b.front() == '\n' || b.front() == '\r' || b.front() == '\t')) {
    b.remove_prefix(1);
  }
  if (b.empty()) {
    if (empty_ok) {
      *out = nlohmann::json::object();
      return std::nullopt;
    }
    return BodyError{"invalid_json", "a JSON object body is required"};
  }
  *out = nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
  if (out->is_discarded()) return BodyError{"invalid_json", "the request body is not valid JSON"};
  if (!out->is_object()) return BodyError{"invalid_json", "the request body must be a JSON object"};
  return std::nullopt;
}

}  // namespace mamute::mgmt
