#include "mailroom/aws/xml_writer.hpp"

namespace mailroom::aws {

xml_writer::xml_writer(std::string_view root, std::string_view xmlns) {
  out_.reserve(512);
  out_ += "<?xml version=\"1.0\"?><";
  out_ += root;
  out_ += " xmlns=\"";
  out_ += xml_escape(xmlns);
  out_ += "\">";
  open_.emplace_back(root);
}

void xml_writer::open(std::string_view tag) {
  out_ += '<';
  out_ += tag;
  out_ += '>';
  open_.emplace_back(tag);
}

void xml_writer::close() {
  if (open_.empty())
    return;
  out_ += "</";
  out_ += open_.back();
  out_ += '>';
  open_.pop_back();
}

void xml_writer::leaf(std::string_view tag, std::string_view text) {
  out_ += '<';
  out_ += tag;
  out_ += '>';
  out_ += xml_escape(text);
  out_ += "</";
  out_ += tag;
  out_ += '>';
}

std::string xml_writer::finish() {
  while (!open_.empty())
    close();
  return std::move(out_);
}

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  for (char c : text) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    case '\'':
      out += "&apos;";
      break;
    case '\r':
      out += "&#xD;";
      break;
    default:
      out += c;
    }
  }
  return out;
}

bool xml_representable(std::string_view text, size_t* bad_at) {
  auto bad = [&](size_t at) {
    if (bad_at)
      *bad_at = at;
    return false;
  };
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  size_t n = text.size();
  for (size_t i = 0; i < n;) {
    uint32_t c = s[i];
    size_t len = 1;
    if (c >= 0x80) {
      if (c >= 0xC2 && c <= 0xDF)
        len = 2, c &= 0x1F;
      else if (c >= 0xE0 && c <= 0xEF)
        len = 3, c &= 0x0F;
      else if (c >= 0xF0 && c <= 0xF4)
        len = 4, c &= 0x07;
      else
        return bad(i);
      if (i + len > n)
        return bad(i);
      for (size_t k = 1; k < len; ++k) {
        if ((s[i + k] & 0xC0) != 0x80)
          return bad(i);
        c = (c << 6) | (s[i + k] & 0x3F);
      }
      // Overlong forms and values past U+10FFFF.
      if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10FFFF)))
        return bad(i);
    }
    bool allowed = c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) ||
                   (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
    if (!allowed)
      return bad(i);
    i += len;
  }
  return true;
}

} // namespace mailroom::aws
