// libFuzzer target: the management API's request parsing (client-controlled input): JSON
// bodies (mgmt::ParseJsonBody, then the fields each route reads: login, refresh/logout, create
// bucket with its name rules and storage class), query strings, bucket ids, limits and list
// cursors. Checks: no crash, no exception escapes, and each parser's own invariants.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "mgmt/validate.h"
#include "util/encoding.h"

using namespace mamute;

namespace {

// What the routes read from a body: a string member, or nothing.
const std::string* StringMember(const nlohmann::json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_string()) return nullptr;
  return &it->get_ref<const std::string&>();
}

void Body(std::string_view in) {
  for (bool empty_ok : {false, true}) {
    nlohmann::json j;
    auto err = mgmt::ParseJsonBody(in, empty_ok, &j);
    if (err) {
      if (err->code.empty() || err->message.empty()) std::abort();
      continue;
    }
    if (!j.is_object()) std::abort();
    for (const char* f : {"email", "password", "refresh_token"}) (void)StringMember(j, f);
    if (const std::string* name = StringMember(j, "name")) {
      auto why = mgmt::BucketNameError(*name);
      // A valid name is 3..63 bytes of [a-z0-9.-].
      if (!why && (name->size() < 3 || name->size() > 63)) std::abort();
    }
    if (const std::string* sc = StringMember(j, "storage_class")) {
      auto norm = mgmt::NormalizeStorageClass(*sc);
      if (norm && mgmt::NormalizeStorageClass(*norm) != norm) std::abort();
    }
    // The error renderer and every response serialize client strings: never throw on them.
    (void)j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
}

void Query(std::string_view in) {
  auto q = mgmt::ParseQuery(in);
  if (!q) return;
  for (const auto& p : *q) {
    if (p.name == "limit") {
      auto v = mgmt::ParseBoundedInt(p.value, 1, 1000);
      if (v && (*v < 1 || *v > 1000)) std::abort();
    }
    if (p.name == "cursor") (void)util::Base64UrlDecode(p.value);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  Body(in);
  Query(in);
  if (auto id = mgmt::ParseBucketId(in)) {
    if (mgmt::FormatBucketId(*id) != in) std::abort();  // ids round-trip exactly
  }
  return 0;
}
