#include "mgmt/bucket_cors.h"

namespace mamute::mgmt {
namespace {

// A member that must be an array of strings (absent: empty).
Status StringList(const nlohmann::json& rule, const char* name, std::vector<std::string>* out, std::size_t i) {
  auto it = rule.find(name);
  if (it == rule.end() || it->is_null()) return Status::Ok();
  if (!it->is_array()) {
    return Status::InvalidArgument("rules[" + std::to_string(i) + "]." + name + ": an array of strings is required");
  }
  for (const auto& v : *it) {
    if (!v.is_string() || v.get_ref<const std::string&>().empty()) {
      return Status::InvalidArgument("rules[" + std::to_string(i) + "]." + name + ": non-empty strings are required");
    }
    out->push_back(v.get<std::string>());
  }
  return Status::Ok();
}

}  // namespace

nlohmann::json CorsToJson(const s3::CorsConfig& config) {
  nlohmann::json rules = nlohmann::json::array();
  for (const s3::CorsRule& r : config.rules) {
    nlohmann::json j = {{"allowed_origins", r.allowed_origins},
                        {"allowed_methods", r.allowed_methods},
                        {"allowed_headers", r.allowed_headers},
                        {"expose_headers", r.expose_headers}};
    j["id"] = r.id.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.id);
    j["max_age_seconds"] = r.max_age_seconds ? nlohmann::json(*r.max_age_seconds) : nlohmann::json(nullptr);
    rules.push_back(std::move(j));
  }
  return {{"rules", std::move(rules)}};
}

Result<s3::CorsConfig> CorsFromJson(const nlohmann::json& body) {
  auto rules = body.find("rules");
  if (rules == body.end() || !rules->is_array() || rules->empty()) {
    return Err(Status::InvalidArgument("rules: a non-empty array of rules is required"));
  }
  if (rules->size() > s3::kMaxCorsRules) return Err(Status::InvalidArgument("rules: at most 100 rules"));
  s3::CorsConfig config;
  std::size_t i = 0;
  for (const auto& rj : *rules) {
    const std::string at = "rules[" + std::to_string(i) + "]";
    if (!rj.is_object()) return Err(Status::InvalidArgument(at + ": an object is required"));
    for (auto it = rj.begin(); it != rj.end(); ++it) {
      static constexpr std::string_view kKnown[] = {"id", "allowed_origins", "allowed_methods", "allowed_headers",
                                                    "expose_headers", "max_age_seconds"};
      bool known = false;
      for (auto k : kKnown) known = known || it.key() == k;
      if (!known) return Err(Status::InvalidArgument(at + "." + it.key() + ": unknown member"));
    }
    s3::CorsRule& r = config.rules.emplace_back();
    if (auto id = rj.find("id"); id != rj.end() && !id->is_null()) {
      if (!id->is_string()) return Err(Status::InvalidArgument(at + ".id: a string is required"));
      r.id = id->get<std::string>();
    }
    MAMUTE_RETURN_IF_ERROR_R(StringList(rj, "allowed_origins", &r.allowed_origins, i));
    MAMUTE_RETURN_IF_ERROR_R(StringList(rj, "allowed_methods", &r.allowed_methods, i));
    MAMUTE_RETURN_IF_ERROR_R(StringList(rj, "allowed_headers", &r.allowed_headers, i));
    MAMUTE_RETURN_IF_ERROR_R(StringList(rj, "expose_headers", &r.expose_headers, i));
    if (r.allowed_origins.empty()) return Err(Status::InvalidArgument(at + ".allowed_origins: at least one origin"));
    if (r.allowed_methods.empty()) return Err(Status::InvalidArgument(at + ".allowed_methods: at least one method"));
    if (auto age = rj.find("max_age_seconds"); age != rj.end() && !age->is_null()) {
      if (!age->is_number_integer() || age->get<int64_t>() < 0) {
        return Err(Status::InvalidArgument(at + ".max_age_seconds: a non-negative integer is required"));
      }
      r.max_age_seconds = age->get<int64_t>();
    }
    ++i;
  }
  if (auto f = s3::ValidateCors(config)) {
    return Err(Status::InvalidArgument(f->message.empty() ? "invalid CORS configuration" : f->message));
  }
  // The stored form is S3's XML: it must fit S3's limit too.
  if (s3::RenderCorsXml(config).size() > s3::kMaxCorsConfigBytes) {
    return Err(Status::InvalidArgument("the configuration exceeds 64 KiB"));
  }
  return config;
}

}  // namespace mamute::mgmt
