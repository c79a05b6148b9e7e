#include "saga_template.hpp"

#include "mailroom/error.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace mailroom::saga_template {

namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

/// Calls on_text for literal runs and on_field for each `{{name}}`; stops at the first error.
template <class OnText, class OnField>
caf::error scan(const std::string& text, OnText on_text, OnField on_field) {
  size_t pos = 0;
  while (pos < text.size()) {
    auto open = text.find("{{", pos);
    if (open == std::string::npos) {
      on_text(std::string_view{text}.substr(pos));
      break;
    }
    on_text(std::string_view{text}.substr(pos, open - pos));
    auto close = text.find("}}", open + 2);
    if (close == std::string::npos)
      return make_error(errc::invalid_argument,
                        "template: '{{' at offset " + std::to_string(open) + " is never closed");
    auto name = text.substr(open + 2, close - open - 2);
    if (name.empty() || name.front() == '.' || name.back() == '.' ||
        !std::all_of(name.begin(), name.end(), is_name_char))
      return make_error(errc::invalid_argument, "template: '{{" + name +
                                                    "}}' is not a field name (letters, digits, "
                                                    "'_', '-', '.' for nested fields)");
    if (auto err = on_field(name))
      return err;
    pos = close + 2;
  }
  return {};
}

const nlohmann::json* lookup(const nlohmann::json& data, const std::string& path) {
  const nlohmann::json* at = &data;
  size_t start = 0;
  while (true) {
    auto dot = path.find('.', start);
    auto key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!at->is_object())
      return nullptr;
    auto it = at->find(key);
    if (it == at->end())
      return nullptr;
    at = &*it;
    if (dot == std::string::npos)
      return at;
    start = dot + 1;
  }
}

} // namespace

caf::error check(const std::string& text) {
  return scan(
      text, [](std::string_view) {}, [](const std::string&) { return caf::error{}; });
}

caf::expected<std::string> render(const std::string& text, const nlohmann::json& data,
                                  const std::string& saga_id) {
  std::string out;
  out.reserve(text.size() + 64);
  auto err = scan(
      text, [&](std::string_view literal) { out.append(literal); },
      [&](const std::string& name) -> caf::error {
        if (name == "saga_id") {
          out += nlohmann::json(saga_id).dump();
          return {};
        }
        auto value = lookup(data, name);
        if (!value)
          return make_error(errc::invalid_argument,
                            "template: the saga data has no field '" + name + "'");
        out += value->dump();
        return {};
      });
  if (err)
    return err;
  return out;
}

} // namespace mailroom::saga_template
