#include "s3/xml_reader.h"

#include <expat.h>

#include <memory>

namespace mamute::s3 {

const XmlNode* XmlNode::Child(std::string_view child_name) const noexcept {
  for (const XmlNode& c : children) {
    if (c.name == child_name) return &c;
  }
  return nullptr;
}

const std::string* XmlNode::ChildText(std::string_view child_name) const noexcept {
  const XmlNode* c = Child(child_name);
  return c == nullptr ? nullptr : &c->text;
}

namespace {

struct ParseState {
  XML_Parser parser = nullptr;
  const XmlLimits* limits = nullptr;
  XmlNode root;
  bool have_root = false;
  std::vector<XmlNode*> stack;
  uint32_t elements = 0;
  std::string error;

  void Fail(std::string msg) {
    if (error.empty()) error = std::move(msg);
    XML_StopParser(parser, XML_FALSE);
  }
};

std::string_view LocalName(const XML_Char* name) {
  std::string_view n(name);
  auto colon = n.rfind(':');
  return colon == std::string_view::npos ? n : n.substr(colon + 1);
}

void OnStart(void* ud, const XML_Char* name, const XML_Char** /*attrs*/) {
  auto* st = static_cast<ParseState*>(ud);
  if (++st->elements > st->limits->max_elements) return st->Fail("too many XML elements");
  if (st->stack.size() >= st->limits->max_depth) return st->Fail("XML nested too deeply");
  XmlNode* node;
  if (st->stack.empty()) {
    if (st->have_root) return st->Fail("more than one root element");
    st->have_root = true;
    node = &st->root;
  } else {
    node = &st->stack.back()->children.emplace_back();
  }
  node->name = LocalName(name);
  st->stack.push_back(node);
}

void OnEnd(void* ud, const XML_Char* /*name*/) {
  auto* st = static_cast<ParseState*>(ud);
  if (!st->stack.empty()) st->stack.pop_back();
}

void OnText(void* ud, const XML_Char* s, int len) {
  auto* st = static_cast<ParseState*>(ud);
  if (st->stack.empty()) return;
  std::string& t = st->stack.back()->text;
  if (t.size() + static_cast<std::size_t>(len) > st->limits->max_text) return st->Fail("XML text too long");
  t.append(s, static_cast<std::size_t>(len));
}

void OnDoctype(void* ud, const XML_Char*, const XML_Char*, const XML_Char*, int) {
  static_cast<ParseState*>(ud)->Fail("DOCTYPE is not allowed");
}

void OnEntityDecl(void* ud, const XML_Char*, int, const XML_Char*, int, const XML_Char*, const XML_Char*,
                  const XML_Char*, const XML_Char*) {
  static_cast<ParseState*>(ud)->Fail("entity declarations are not allowed");
}

}  // namespace

Result<XmlNode> ParseXml(std::string_view body, const XmlLimits& limits) {
  if (body.size() > limits.max_bytes) return Err(Status::InvalidArgument("XML body too large"));
  std::unique_ptr<XML_ParserStruct, decltype(&XML_ParserFree)> parser(XML_ParserCreate("UTF-8"), &XML_ParserFree);
  if (!parser) return Err(Status::ResourceExhausted("XML parser allocation failed"));
  ParseState st;
  st.parser = parser.get();
  st.limits = &limits;
  XML_SetUserData(parser.get(), &st);
  XML_SetElementHandler(parser.get(), OnStart, OnEnd);
  XML_SetCharacterDataHandler(parser.get(), OnText);
  XML_SetStartDoctypeDeclHandler(parser.get(), OnDoctype);
  XML_SetEntityDeclHandler(parser.get(), OnEntityDecl);
  XML_SetParamEntityParsing(parser.get(), XML_PARAM_ENTITY_PARSING_NEVER);
  XML_Status rc = XML_Parse(parser.get(), body.data(), static_cast<int>(body.size()), XML_TRUE);
  if (!st.error.empty()) return Err(Status::InvalidArgument(st.error));
  if (rc != XML_STATUS_OK) {
    std::string msg = "malformed XML: ";
    msg += XML_ErrorString(XML_GetErrorCode(parser.get()));
    return Err(Status::InvalidArgument(msg));
  }
  if (!st.have_root) return Err(Status::InvalidArgument("empty XML document"));
  return std::move(st.root);
}

}  // namespace mamute::s3
