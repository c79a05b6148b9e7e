#include "mailroom/aws/form.hpp"

#include "mailroom/error.hpp"

#include <algorithm>
#include <charconv>

namespace mailroom::aws {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

caf::error malformed(std::string what) {
  return make_error(errc::invalid_argument, "malformed request body: " + std::move(what));
}

} // namespace

std::optional<std::string> url_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= text.size())
        return std::nullopt;
      int hi = hex_value(text[i + 1]);
      int lo = hex_value(text[i + 2]);
      if (hi < 0 || lo < 0)
        return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string url_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 0xF]);
    }
  }
  return out;
}

caf::expected<form> form::parse(std::string_view body) {
  form out;
  caf::error err;
  for_each_pair(body, [&](std::string_view raw_key, std::string_view raw_value) {
    auto key = url_decode(raw_key);
    auto value = url_decode(raw_value);
    if (!key || !value)
      err =
          malformed("field '" + std::string{raw_key.substr(0, 64)} + "' has a malformed %-escape");
    else if (key->empty())
      err = malformed("a field has an empty name");
    else if (out.fields_.size() == max_fields)
      err = malformed("more than " + std::to_string(max_fields) + " fields");
    else if (!out.fields_.emplace(std::move(*key), std::move(*value)).second)
      err = malformed("field '" + std::string{raw_key.substr(0, 64)} + "' is given twice");
    return !err;
  });
  if (err)
    return err;
  return out;
}

const std::string* form::find(const std::string& key) const {
  auto it = fields_.find(key);
  return it == fields_.end() ? nullptr : &it->second;
}

std::string form::get(const std::string& key) const {
  auto* v = find(key);
  return v ? *v : std::string{};
}

std::vector<std::string> form::list(const std::string& prefix) const {
  std::vector<std::string> out;
  for (unsigned i = 1;; ++i) {
    auto* v = find(prefix + "." + std::to_string(i));
    if (!v)
      return out;
    out.push_back(*v);
  }
}

std::vector<unsigned> form::entries(const std::string& prefix) const {
  std::vector<unsigned> out;
  auto head = prefix + ".";
  for (auto it = fields_.lower_bound(head); it != fields_.end(); ++it) {
    const auto& key = it->first;
    if (key.compare(0, head.size(), head) != 0)
      break;
    auto rest = std::string_view{key}.substr(head.size());
    unsigned n = 0;
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), n);
    if (ec != std::errc{} || end == rest.data() || end == rest.data() + rest.size() ||
        *end != '.' || n == 0)
      continue;
    out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

} // namespace mailroom::aws
