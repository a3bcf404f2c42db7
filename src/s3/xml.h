// A small streaming XML writer for S3 responses (elements and escaped text into one string).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "s3/errors.h"

namespace mamute::s3 {

class XmlWriter {
 public:
  explicit XmlWriter(std::string* out) : out_(out) {
    out_->append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
  }
  /// <name xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  void OpenRoot(std::string_view name) {
    out_->push_back('<');
    out_->append(name);
    out_->append(" xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
  }
  void Open(std::string_view name) {
    out_->push_back('<');
    out_->append(name);
    out_->push_back('>');
  }
  void Close(std::string_view name) {
    out_->append("</");
    out_->append(name);
    out_->push_back('>');
  }
  void Element(std::string_view name, std::string_view text) {
    Open(name);
    AppendXmlEscaped(out_, text);
    Close(name);
  }
  void Element(std::string_view name, uint64_t v) { Element(name, std::string_view(std::to_string(v))); }
  void Bool(std::string_view name, bool v) { Element(name, v ? std::string_view("true") : std::string_view("false")); }

 private:
  std::string* out_;
};

}  // namespace mamute::s3
