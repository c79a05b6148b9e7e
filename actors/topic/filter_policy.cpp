#include "actors/topic/filter_policy.hpp"

#include "mailroom/error.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

namespace mailroom {

using json = nlohmann::json;

namespace {

constexpr size_t max_keys = 5;
constexpr size_t max_combinations = 150;
constexpr size_t max_depth = 5;
constexpr size_t max_policy_bytes = 256 * 1024;

std::optional<double> to_number(std::string_view text) {
  double value = 0;
  auto first = text.data(), last = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(first, last, value);
  if (ec != std::errc{} || ptr != last || text.empty() || !std::isfinite(value))
    return std::nullopt;
  return value;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

} // namespace

struct filter_policy::condition {
  enum class kind : uint8_t {
    exact_text,
    exact_number,
    literal_null,
    literal_bool,
    prefix,
    suffix,
    equals_ignore_case,
    anything_but,
    numeric,
    exists,
  };
  kind k = kind::exact_text;
  std::string text;
  double number = 0;
  bool flag = false;
  // numeric: lower and upper bounds, each optional
  std::optional<double> lower, upper;
  bool lower_inclusive = false, upper_inclusive = false;
  // anything-but
  std::vector<std::string> but_texts;
  std::vector<double> but_numbers;
  std::string but_prefix, but_suffix;

  bool in_range(double v) const {
    if (lower && (lower_inclusive ? v < *lower : v <= *lower))
      return false;
    if (upper && (upper_inclusive ? v > *upper : v >= *upper))
      return false;
    return true;
  }

  bool is_excluded_text(std::string_view v) const {
    if (!but_prefix.empty() && v.substr(0, but_prefix.size()) == but_prefix)
      return true;
    if (!but_suffix.empty() && v.size() >= but_suffix.size() &&
        v.substr(v.size() - but_suffix.size()) == but_suffix)
      return true;
    return std::find(but_texts.begin(), but_texts.end(), v) != but_texts.end();
  }

  bool is_excluded_number(double v) const {
    return std::find(but_numbers.begin(), but_numbers.end(), v) != but_numbers.end();
  }

  /// Attribute scope: values are text; numeric conditions read them as numbers.
  bool matches_text(std::string_view v) const {
    switch (k) {
    case kind::exact_text:
      return v == text;
    case kind::exact_number: {
      auto n = to_number(v);
      return n && *n == number;
    }
    case kind::prefix:
      return v.substr(0, text.size()) == text;
    case kind::suffix:
      return v.size() >= text.size() && v.substr(v.size() - text.size()) == text;
    case kind::equals_ignore_case:
      return iequals(v, text);
    case kind::anything_but: {
      if (is_excluded_text(v))
        return false;
      auto n = to_number(v);
      return !(n && is_excluded_number(*n));
    }
    case kind::numeric: {
      auto n = to_number(v);
      return n && in_range(*n);
    }
    case kind::exists:
      return flag;
    case kind::literal_null:
    case kind::literal_bool:
      return false;
    }
    return false;
  }

  /// Body scope: strings, numbers, booleans and null keep their JSON types.
  bool matches_json(const json& v) const {
    if (k == kind::exists)
      return flag;
    if (v.is_string()) {
      const auto& s = v.get_ref<const std::string&>();
      switch (k) {
      case kind::exact_text:
      case kind::prefix:
      case kind::suffix:
      case kind::equals_ignore_case:
        return matches_text(s);
      case kind::anything_but:
        return !is_excluded_text(s);
      default:
        return false;
      }
    }
    if (v.is_number()) {
      auto n = v.get<double>();
      switch (k) {
      case kind::exact_number:
        return n == number;
      case kind::numeric:
        return in_range(n);
      case kind::anything_but:
        return !is_excluded_number(n);
      default:
        return false;
      }
    }
    if (v.is_boolean())
      return (k == kind::literal_bool && v.get<bool>() == flag) ||
             (k == kind::anything_but && but_texts.empty() && but_numbers.empty() &&
              but_prefix.empty() && but_suffix.empty());
    if (v.is_null())
      return k == kind::literal_null;
    return false;
  }
};

struct filter_policy::rule {
  struct field {
    std::string key;
    std::vector<condition> any;   ///< leaf: one must match
    std::unique_ptr<rule> nested; ///< body scope: a nested object
  };
  std::vector<field> all;       ///< every field must match
  std::vector<rule> any_of;     ///< "$or": one must match (empty: no $or)

  bool matches_attributes(const filter_input& in) const {
    for (const auto& f : all) {
      const auto* value = in.attribute(f.key);
      bool ok = false;
      for (const auto& c : f.any) {
        if (value == nullptr ? (c.k == condition::kind::exists && !c.flag)
                             : c.matches_text(*value)) {
          ok = true;
          break;
        }
      }
      if (!ok)
        return false;
    }
    return any_of.empty() || std::any_of(any_of.begin(), any_of.end(), [&](const rule& r) {
             return r.matches_attributes(in);
           });
  }

  bool matches_body(const json& object) const {
    for (const auto& f : all) {
      auto it = object.find(f.key);
      const json* value = it == object.end() ? nullptr : &*it;
      if (f.nested) {
        if (value == nullptr || !value->is_object() || !f.nested->matches_body(*value))
          return false;
        continue;
      }
      auto leaf = [&](const json& v) {
        return std::any_of(f.any.begin(), f.any.end(),
                           [&](const condition& c) { return c.matches_json(v); });
      };
      bool ok;
      if (value == nullptr)
        ok = std::any_of(f.any.begin(), f.any.end(), [](const condition& c) {
          return c.k == condition::kind::exists && !c.flag;
        });
      else if (value->is_array())
        ok = std::any_of(value->begin(), value->end(), leaf);
      else
        ok = leaf(*value);
      if (!ok)
        return false;
    }
    return any_of.empty() || std::any_of(any_of.begin(), any_of.end(),
                                         [&](const rule& r) { return r.matches_body(object); });
  }
};

// --- filter_input ----------------------------------------------------------------------------

const std::string* filter_input::attribute(const std::string& key) const {
  for (const auto& [k, v] : attributes_)
    if (k == key)
      return &v;
  return nullptr;
}

const json* filter_input::body_object() {
  if (!parsed_) {
    parsed_ = true;
    auto parsed = json::parse(body_, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_object())
      body_json_ = std::move(parsed);
  }
  return body_json_ ? &*body_json_ : nullptr;
}

// --- parsing -----------------------------------------------------------------------------------

namespace {

class compiler {
public:
  explicit compiler(filter_scope scope) : scope_(scope) {}

  caf::error error;

  /// A policy object; counts its leaf keys and value combinations for the limits.
  bool compile(const json& object, filter_policy::rule& out, size_t depth, size_t& keys,
               size_t& combinations) {
    if (!object.is_object())
      return fail("a policy must be a JSON object");
    if (object.empty())
      return fail("a policy must name at least one key");
    if (depth > max_depth)
      return fail("nesting is deeper than " + std::to_string(max_depth) + " levels");
    combinations = 1;
    size_t or_combinations = 0;
    for (auto it = object.begin(); it != object.end(); ++it) {
      const std::string& key = it.key();
      const json& value = it.value();
      if (key == "$or") {
        if (!value.is_array() || value.size() < 2)
          return fail("'$or' needs an array of at least two policies");
        for (const auto& branch : value) {
          filter_policy::rule r;
          size_t branch_keys = 0, branch_combinations = 0;
          if (!compile(branch, r, depth + 1, branch_keys, branch_combinations))
            return false;
          keys = std::max(keys, branch_keys);
          or_combinations += branch_combinations;
          out.any_of.push_back(std::move(r));
        }
        continue;
      }
      filter_policy::rule::field f;
      f.key = key;
      if (value.is_object()) {
        if (scope_ == filter_scope::attributes)
          return fail_key(key, "nested objects match JSON bodies only; this policy looks at "
                               "attributes (use the body scope)");
        f.nested = std::make_unique<filter_policy::rule>();
        size_t nested_combinations = 0;
        if (!compile(value, *f.nested, depth + 1, keys, nested_combinations))
          return false;
        combinations *= nested_combinations;
      } else if (value.is_array()) {
        if (value.empty())
          return fail_key(key, "needs at least one condition");
        for (const auto& c : value) {
          filter_policy::condition cond;
          if (!compile_condition(key, c, cond))
            return false;
          f.any.push_back(std::move(cond));
        }
        ++keys;
        combinations *= value.size();
      } else {
        return fail_key(key, "conditions must be an array, e.g. [\"value\"]");
      }
      out.all.push_back(std::move(f));
    }
    if (or_combinations > 0)
      combinations = out.all.empty() ? or_combinations : combinations * or_combinations;
    return true;
  }

private:
  bool fail(const std::string& why) {
    error = make_error(errc::invalid_argument, "filter policy: " + why);
    return false;
  }

  bool fail_key(const std::string& key, const std::string& why) {
    return fail("key '" + key + "': " + why);
  }

  bool compile_condition(const std::string& key, const json& c, filter_policy::condition& out) {
    using kind = filter_policy::condition::kind;
    if (c.is_string()) {
      out.k = kind::exact_text;
      out.text = c.get<std::string>();
      return true;
    }
    if (c.is_number()) {
      out.k = kind::exact_number;
      out.number = c.get<double>();
      return true;
    }
    if (c.is_boolean() || c.is_null()) {
      if (scope_ == filter_scope::attributes)
        return fail_key(key, "true, false and null match JSON bodies only");
      out.k = c.is_null() ? kind::literal_null : kind::literal_bool;
      out.flag = c.is_boolean() && c.get<bool>();
      return true;
    }
    if (!c.is_object())
      return fail_key(key, "a condition must be a string, a number or an operator object");
    if (c.size() != 1)
      return fail_key(key, "an operator object holds exactly one operator, got " + c.dump());
    auto only = c.begin();
    const std::string& op = only.key();
    const json& arg = only.value();
    if (op == "prefix" || op == "suffix" || op == "equals-ignore-case") {
      if (!arg.is_string() || (op != "equals-ignore-case" && arg.get<std::string>().empty()))
        return fail_key(key, "'" + op + "' needs a non-empty string");
      out.k = op == "prefix" ? kind::prefix : op == "suffix" ? kind::suffix
                                                             : kind::equals_ignore_case;
      out.text = arg.get<std::string>();
      return true;
    }
    if (op == "exists") {
      if (!arg.is_boolean())
        return fail_key(key, "'exists' needs true or false");
      out.k = kind::exists;
      out.flag = arg.get<bool>();
      return true;
    }
    if (op == "numeric")
      return compile_numeric(key, arg, out);
    if (op == "anything-but")
      return compile_anything_but(key, arg, out);
    return fail_key(key, "unknown operator '" + op + "'");
  }

  bool compile_numeric(const std::string& key, const json& arg, filter_policy::condition& out) {
    out.k = filter_policy::condition::kind::numeric;
    auto bad = [&](const std::string& why) {
      return fail_key(key, "numeric condition " + arg.dump() + " " + why);
    };
    if (!arg.is_array() || (arg.size() != 2 && arg.size() != 4))
      return bad("must be [op, number] or [op, number, op, number]");
    for (size_t i = 0; i < arg.size(); i += 2) {
      if (!arg[i].is_string())
        return bad("needs an operator (=, <, <=, >, >=) at position " + std::to_string(i + 1));
      auto op = arg[i].get<std::string>();
      if (!arg[i + 1].is_number())
        return bad("needs a number after '" + op + "'");
      auto v = arg[i + 1].get<double>();
      if (op == "=") {
        if (arg.size() != 2)
          return bad("'=' cannot be part of a range");
        out.lower = out.upper = v;
        out.lower_inclusive = out.upper_inclusive = true;
      } else if (op == ">" || op == ">=") {
        if (i != 0)
          return bad("puts the lower bound ('" + op + "') second; write it first");
        out.lower = v;
        out.lower_inclusive = op == ">=";
      } else if (op == "<" || op == "<=") {
        if (i != 0 && !out.lower)
          return bad("has two upper bounds");
        out.upper = v;
        out.upper_inclusive = op == "<=";
      } else {
        return bad("has unknown operator '" + op + "' (use =, <, <=, >, >=)");
      }
    }
    if (arg.size() == 4 && (!out.lower || !out.upper))
      return bad("must be a range: a lower bound (> or >=) then an upper bound (< or <=)");
    if (out.lower && out.upper && *out.lower > *out.upper)
      return bad("has its lower bound above its upper bound");
    return true;
  }

  bool compile_anything_but(const std::string& key, const json& arg,
                            filter_policy::condition& out) {
    out.k = filter_policy::condition::kind::anything_but;
    auto add = [&](const json& v) {
      if (v.is_string())
        out.but_texts.push_back(v.get<std::string>());
      else if (v.is_number())
        out.but_numbers.push_back(v.get<double>());
      else
        return fail_key(key, "'anything-but' takes strings and numbers, got " + v.dump());
      return true;
    };
    if (arg.is_object()) {
      if (arg.size() != 1 || !(arg.contains("prefix") || arg.contains("suffix")))
        return fail_key(key, "'anything-but' takes a value, a list, or {\"prefix\"|\"suffix\": "
                             "\"...\"}, got " +
                                 arg.dump());
      auto only = arg.begin();
      const std::string& op = only.key();
      const json& v = only.value();
      if (!v.is_string() || v.get<std::string>().empty())
        return fail_key(key, "'anything-but' " + op + " needs a non-empty string");
      (op == "prefix" ? out.but_prefix : out.but_suffix) = v.get<std::string>();
      return true;
    }
    if (arg.is_array()) {
      if (arg.empty())
        return fail_key(key, "'anything-but' needs at least one value");
      for (const auto& v : arg)
        if (!add(v))
          return false;
      return true;
    }
    return add(arg);
  }

  filter_scope scope_;
};

} // namespace

caf::expected<filter_policy> filter_policy::parse(std::string_view text, filter_scope scope) {
  auto bad = [](const std::string& why) {
    return make_error(errc::invalid_argument, "filter policy: " + why);
  };
  if (text.size() > max_policy_bytes)
    return bad("is " + std::to_string(text.size()) + " bytes, more than the limit of 256 KiB");
  json parsed;
  try {
    parsed = json::parse(text);
  } catch (const json::parse_error& e) {
    return bad(std::string{"is not valid JSON: "} + e.what());
  }
  compiler c{scope};
  auto root = std::make_shared<rule>();
  size_t keys = 0, combinations = 0;
  if (!c.compile(parsed, *root, 1, keys, combinations))
    return c.error;
  if (keys > max_keys)
    return bad("names " + std::to_string(keys) + " keys; at most " + std::to_string(max_keys) +
               " are allowed");
  if (combinations > max_combinations)
    return bad("has " + std::to_string(combinations) + " value combinations; at most " +
               std::to_string(max_combinations) + " are allowed");
  filter_policy p;
  p.scope_ = scope;
  p.text_ = parsed.dump();
  p.root_ = std::move(root);
  return p;
}

bool filter_policy::matches(filter_input& input) const {
  if (scope_ == filter_scope::attributes)
    return root_->matches_attributes(input);
  const auto* body = input.body_object();
  return body != nullptr && root_->matches_body(*body);
}

} // namespace mailroom
