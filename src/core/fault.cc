#include "core/fault.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <deque>
#include <memory>
#include <string>

#include "mamute/result.h"
#include "util/log.h"

namespace mamute::core::fault {

bool g_armed = false;

#ifdef MAMUTE_FAULT_INJECTION

namespace {

struct Rule {
  FileOp op = FileOp::kWrite;
  std::string match;
  uint64_t after = 0;
  uint64_t count = 1;
  int err = EIO;
  std::atomic<uint64_t> seen{0};
};

// Built once by Configure() before any shard runs; never resized afterwards.
std::deque<Rule>* g_rules = nullptr;  // a deque: Rule holds an atomic (not movable)

constexpr std::pair<std::string_view, FileOp> kOps[] = {
    {"open", FileOp::kOpen},       {"diropen", FileOp::kDirOpen}, {"write", FileOp::kWrite},
    {"sync", FileOp::kSync},
    {"dirsync", FileOp::kDirSync}, {"parentsync", FileOp::kParentSync},
    {"rename", FileOp::kRename},   {"mkdir", FileOp::kMkdir},
    {"read", FileOp::kRead},       {"unlink", FileOp::kUnlink}, {"meta", FileOp::kMeta},
    {"walwrite", FileOp::kWalWrite}, {"walsync", FileOp::kWalSync},
};

std::string_view OpName(FileOp op) noexcept {
  for (const auto& [name, o] : kOps) {
    if (o == op) {
      return name;
    }
  }
  return "?";
}

bool ParseU64(std::string_view s, uint64_t* out) noexcept {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

Status ParseRule(std::string_view text, Rule* rule) {
  bool have_op = false;
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    const std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      return Status::InvalidArgument("MAMUTE_FAULTS: expected key=value, got '" + std::string(item) + "'");
    }
    const std::string_view k = item.substr(0, eq);
    const std::string_view v = item.substr(eq + 1);
    if (k == "op") {
      have_op = false;
      for (const auto& [name, o] : kOps) {
        if (v == name) {
          rule->op = o;
          have_op = true;
        }
      }
      if (!have_op) {
        return Status::InvalidArgument("MAMUTE_FAULTS: unknown op '" + std::string(v) + "'");
      }
    } else if (k == "match") {
      rule->match.assign(v);
    } else if (k == "after" || k == "count") {
      if (!ParseU64(v, k == "after" ? &rule->after : &rule->count)) {
        return Status::InvalidArgument("MAMUTE_FAULTS: bad number '" + std::string(v) + "'");
      }
    } else if (k == "errno") {
      constexpr std::pair<std::string_view, int> kErrnos[] = {
          {"EIO", EIO}, {"ENOSPC", ENOSPC}, {"EDQUOT", EDQUOT}, {"EROFS", EROFS}, {"ENOMEM", ENOMEM}};
      uint64_t n = 0;
      rule->err = 0;
      for (const auto& [name, e] : kErrnos) {
        if (v == name) {
          rule->err = e;
        }
      }
      if (rule->err == 0) {
        if (!ParseU64(v, &n) || n == 0 || n > 4095) {
          return Status::InvalidArgument("MAMUTE_FAULTS: bad errno '" + std::string(v) + "'");
        }
        rule->err = static_cast<int>(n);
      }
    } else {
      return Status::InvalidArgument("MAMUTE_FAULTS: unknown key '" + std::string(k) + "'");
    }
  }
  if (!have_op) {
    return Status::InvalidArgument("MAMUTE_FAULTS: a rule needs op=");
  }
  return Status::Ok();
}

}  // namespace

bool Compiled() noexcept { return true; }

Status Configure(std::string_view spec) {
  auto rules = std::make_unique<std::deque<Rule>>();
  while (!spec.empty()) {
    const std::size_t semi = spec.find(';');
    const std::string_view text = spec.substr(0, semi);
    spec = semi == std::string_view::npos ? std::string_view() : spec.substr(semi + 1);
    if (text.empty()) {
      continue;
    }
    Rule& r = rules->emplace_back();
    MAMUTE_RETURN_IF_ERROR(ParseRule(text, &r));
  }
  if (rules->empty()) {
    return Status::Ok();
  }
  for (const Rule& r : *rules) {
    MLOG_WARN("fault injection: op=%.*s match='%s' after=%llu count=%llu errno=%d",
              static_cast<int>(OpName(r.op).size()), OpName(r.op).data(), r.match.c_str(),
              static_cast<unsigned long long>(r.after), static_cast<unsigned long long>(r.count),
              r.err);
  }
  delete g_rules;
  g_rules = rules.release();
  g_armed = true;
  return Status::Ok();
}

void Reset() noexcept {
  g_armed = false;
  delete g_rules;
  g_rules = nullptr;
}

int Check(FileOp op, std::string_view subject) noexcept {
  if (g_rules == nullptr) {
    return 0;
  }
  for (Rule& r : *g_rules) {
    if (r.op != op || (!r.match.empty() && subject.find(r.match) == std::string_view::npos)) {
      continue;
    }
    const uint64_t n = r.seen.fetch_add(1, std::memory_order_relaxed);
    if (n >= r.after && (r.count == 0 || n - r.after < r.count)) {
      MLOG_WARN("fault injection: %.*s #%llu on '%.*s' fails with errno %d",
                static_cast<int>(OpName(op).size()), OpName(op).data(),
                static_cast<unsigned long long>(n + 1), static_cast<int>(subject.size()),
                subject.data(), r.err);
      return r.err;
    }
  }
  return 0;
}

#else  // !MAMUTE_FAULT_INJECTION

bool Compiled() noexcept { return false; }

Status Configure(std::string_view spec) {
  if (spec.empty()) {
    return Status::Ok();
  }
  return Status::NotImplemented("MAMUTE_FAULTS is set but this build has no fault injection "
                                "(meson -Dfault_injection=enabled)");
}

void Reset() noexcept { g_armed = false; }

int Check(FileOp, std::string_view) noexcept { return 0; }

#endif

}  // namespace mamute::core::fault
