// Compiling a filter policy into a tree of rules, and matching messages against the tree.
//
// Why compile rather than walk the policy's JSON per message: a topic evaluates every
// subscription's policy against every published message, so the per-message path must not look
// up operator names, re-check shapes or re-read numbers. Parsing does all of that once; matching
// is a loop over keys and a switch per condition.
#include "filter_policy.hpp"

#include "mailroom/error.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <vector>

namespace mailroom {

using json = nlohmann::json;

namespace detail {

/// One element of a key's array of conditions.
struct filter_condition {
  enum class kind : uint8_t {
    text,               ///< "paid": that string
    numeric,            ///< 5, {"numeric": ...}: a number within [lower, upper]
    null,               ///< null (body scope)
    boolean,            ///< true, false (body scope): `flag`
    prefix,             ///< {"prefix": text}
    suffix,             ///< {"suffix": text}
    equals_ignore_case, ///< {"equals-ignore-case": ...}; `text` is held lowercased
    anything_but,       ///< present, and none of but_texts, but_numbers, `affix`
    exists,             ///< {"exists": flag}
  };
  enum class affix_kind : uint8_t { none, prefix, suffix };

  kind what = kind::text;
  bool flag = false;
  std::string text; ///< text, prefix, suffix, equals-ignore-case; anything-but's affix
  double lower = -std::numeric_limits<double>::infinity();
  double upper = std::numeric_limits<double>::infinity();
  bool lower_inclusive = true;
  bool upper_inclusive = true;
  affix_kind affix = affix_kind::none;
  std::vector<std::string> but_texts;
  std::vector<double> but_numbers;
};

/// A key of a policy object: an array of conditions, or (body scope) a nested object.
struct filter_field {
  std::string key;
  std::vector<filter_condition> any;
  std::unique_ptr<filter_rule> nested;
  bool matches_missing = false; ///< one condition is {"exists": false}
  bool reads_numbers = false;   ///< attribute scope: read the text as a number as well
};

/// A policy object: every field, and one of the "$or" policies if there are any.
struct filter_rule {
  std::vector<filter_field> all;
  std::vector<filter_rule> any_of;
};

} // namespace detail

namespace {

using detail::filter_condition;
using detail::filter_field;
using detail::filter_rule;
using kind = filter_condition::kind;

// --- matching --------------------------------------------------------------------------------

/// A scalar as the conditions see it: an attribute (text that may also read as a number), or a
/// string, number, boolean or null from a JSON body, which keep their types.
struct leaf {
  std::optional<std::string_view> text;
  std::optional<double> number;
  std::optional<bool> boolean;
  bool null = false;
};

std::optional<double> read_number(std::string_view text) {
  double value = 0;
  const char* last = text.data() + text.size();
  auto [end, ec] = std::from_chars(text.data(), last, value);
  if (text.empty() || ec != std::errc{} || end != last || !std::isfinite(value))
    return std::nullopt;
  return value;
}

char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool equals_lowercase(std::string_view value, std::string_view lowercase) {
  return value.size() == lowercase.size() &&
         std::equal(value.begin(), value.end(), lowercase.begin(),
                    [](char v, char l) { return ascii_lower(v) == l; });
}

bool excludes(const filter_condition& c, const leaf& v) {
  if (v.text) {
    if (c.affix == filter_condition::affix_kind::prefix && v.text->starts_with(c.text))
      return true;
    if (c.affix == filter_condition::affix_kind::suffix && v.text->ends_with(c.text))
      return true;
    if (std::find(c.but_texts.begin(), c.but_texts.end(), *v.text) != c.but_texts.end())
      return true;
  }
  return v.number &&
         std::find(c.but_numbers.begin(), c.but_numbers.end(), *v.number) != c.but_numbers.end();
}

bool in_range(const filter_condition& c, double n) {
  return (c.lower_inclusive ? n >= c.lower : n > c.lower) &&
         (c.upper_inclusive ? n <= c.upper : n < c.upper);
}

bool condition_matches(const filter_condition& c, const leaf& v) {
  switch (c.what) {
  case kind::text:
    return v.text && *v.text == c.text;
  case kind::numeric:
    return v.number && in_range(c, *v.number);
  case kind::null:
    return v.null;
  case kind::boolean:
    return v.boolean && *v.boolean == c.flag;
  case kind::prefix:
    return v.text && v.text->starts_with(c.text);
  case kind::suffix:
    return v.text && v.text->ends_with(c.text);
  case kind::equals_ignore_case:
    return v.text && equals_lowercase(*v.text, c.text);
  case kind::anything_but:
    return !excludes(c, v);
  case kind::exists:
    return c.flag; // the value is present
  }
  return false;
}

bool field_matches_leaf(const filter_field& f, const leaf& v) {
  return std::any_of(f.any.begin(), f.any.end(),
                     [&](const filter_condition& c) { return condition_matches(c, v); });
}

bool rule_matches_attributes(const filter_rule& r, const attribute_list& attributes) {
  for (const auto& f : r.all) {
    auto it = std::find_if(attributes.begin(), attributes.end(),
                           [&](const auto& a) { return a.key == f.key && !a.binary(); });
    if (it == attributes.end()) {
      if (!f.matches_missing)
        return false;
      continue;
    }
    leaf v;
    v.text = it->value;
    if (f.reads_numbers)
      v.number = read_number(it->value);
    if (!field_matches_leaf(f, v))
      return false;
  }
  return r.any_of.empty() ||
         std::any_of(r.any_of.begin(), r.any_of.end(), [&](const filter_rule& branch) {
           return rule_matches_attributes(branch, attributes);
         });
}

leaf leaf_of(const json& value) {
  leaf v;
  if (value.is_string())
    v.text = value.get_ref<const std::string&>();
  else if (value.is_number())
    v.number = value.get<double>();
  else if (value.is_boolean())
    v.boolean = value.get<bool>();
  else
    v.null = value.is_null();
  return v;
}

bool rule_matches_body(const filter_rule& r, const json* object);

/// `value` is the body's field, or nullptr when it is missing. Objects (and arrays inside arrays)
/// are not leaves: a key with conditions finds no value in them, as if it were missing.
bool field_matches_body(const filter_field& f, const json* value) {
  if (f.nested) {
    if (value != nullptr && value->is_array()) {
      bool any_object = false;
      for (const auto& element : *value) {
        if (!element.is_object())
          continue;
        any_object = true;
        if (rule_matches_body(*f.nested, &element))
          return true;
      }
      if (any_object)
        return false;
    }
    return rule_matches_body(*f.nested, value != nullptr && value->is_object() ? value : nullptr);
  }
  if (value == nullptr || value->is_object())
    return f.matches_missing;
  if (!value->is_array())
    return field_matches_leaf(f, leaf_of(*value));
  bool any_leaf = false;
  for (const auto& element : *value) {
    if (element.is_array() || element.is_object())
      continue;
    any_leaf = true;
    if (field_matches_leaf(f, leaf_of(element)))
      return true;
  }
  return !any_leaf && f.matches_missing;
}

/// `object` is nullptr when the enclosing field is missing or not an object: every key below it
/// is then missing. The recursion follows the policy (at most 5 deep), never the body.
bool rule_matches_body(const filter_rule& r, const json* object) {
  for (const auto& f : r.all) {
    const json* value = nullptr;
    if (object != nullptr)
      if (auto it = object->find(f.key); it != object->end())
        value = &*it;
    if (!field_matches_body(f, value))
      return false;
  }
  return r.any_of.empty() ||
         std::any_of(r.any_of.begin(), r.any_of.end(),
                     [&](const filter_rule& branch) { return rule_matches_body(branch, object); });
}

} // namespace

filter_input::filter_input(const attribute_list& attributes, std::string_view body)
    : attributes_(attributes), body_(body) {}

filter_input::~filter_input() = default;

const json* filter_input::body_object() {
  if (!parsed_) {
    parsed_ = true;
    // No exceptions: a body that is not JSON is an ordinary message, matched by no body policy.
    auto parsed = json::parse(body_, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_object())
      body_json_ = std::make_unique<json>(std::move(parsed));
  }
  return body_json_.get();
}

// --- compiling -------------------------------------------------------------------------------

namespace {

constexpr size_t max_policy_bytes = 256 * 1024;
constexpr size_t max_keys = 5;
constexpr size_t max_combinations = 150;
constexpr size_t max_depth = 5;
/// Combination counts stop growing here: far above the limit, and a product of the lengths of
/// a 256 KiB policy's arrays cannot overflow size_t on the way.
constexpr size_t saturated = 1'000'000'000;

size_t times(size_t a, size_t b) {
  return a != 0 && b > saturated / a ? saturated : std::min(a * b, saturated);
}

size_t plus(size_t a, size_t b) {
  return std::min(a + b, saturated);
}

std::string clip(std::string text) {
  constexpr size_t max = 60;
  if (text.size() <= max)
    return text;
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80)
    --cut; // not inside a UTF-8 sequence
  return text.substr(0, cut) + "...";
}

/// Appends part of a policy for an error message as a person would write it ([">", "x"]), cut
/// short so that a huge or deeply nested value can neither flood the message nor, by recursion,
/// the stack.
void render(const json& value, std::string& out, int depth) {
  if (!value.is_array() && !value.is_object()) {
    out += clip(value.dump());
    return;
  }
  const bool array = value.is_array();
  if (depth == 3 && !value.empty()) {
    out += array ? "[...]" : "{...}";
    return;
  }
  out += array ? '[' : '{';
  for (auto it = value.begin(); it != value.end(); ++it) {
    if (it != value.begin())
      out += ", ";
    if (out.size() > 100) {
      out += "...";
      break;
    }
    if (!array)
      out += clip(json(it.key()).dump()) + ": ";
    render(it.value(), out, depth + 1);
  }
  out += array ? ']' : '}';
}

std::string show(const json& value) {
  std::string out;
  render(value, out, 0);
  return out;
}

std::optional<double> finite_number(const json& value) {
  if (!value.is_number())
    return std::nullopt;
  auto n = value.get<double>();
  return std::isfinite(n) ? std::optional<double>{n} : std::nullopt;
}

/// What an object of the policy adds up to, for the limits.
struct tally {
  size_t keys = 0;         ///< keys with conditions; of "$or" branches, the largest
  size_t combinations = 1; ///< product over keys of their condition counts; "$or" branches sum
};

class compiler {
public:
  explicit compiler(filter_scope scope) : scope_(scope) {}

  /// The error of the last step that returned false.
  caf::error take_error() { return std::move(error_); }

  /// `path` names the object's key ("" for the policy itself); `what` names the object in an
  /// error about it; `depth` is 1 for the policy itself.
  bool compile_object(const json& object, const std::string& path, std::string_view what,
                      size_t depth, filter_rule& out, tally& total) {
    if (depth > max_depth)
      return fail(path, "objects nest deeper than " + std::to_string(max_depth) +
                            " levels (the policy, each nested object and each '$or' policy "
                            "is one)");
    if (object.empty())
      return fail(path, std::string{what} + " is empty; it needs at least one key");
    total = {};
    tally branches{0, 0};
    bool has_or = false;
    for (auto it = object.begin(); it != object.end(); ++it) {
      if (it.key() == "$or") {
        has_or = true;
        if (!compile_or(it.value(), path, depth, out, branches))
          return false;
        continue;
      }
      filter_field field;
      field.key = it.key();
      tally own;
      auto field_path = path.empty() ? it.key() : path + "." + it.key();
      if (!compile_field(it.value(), field_path, depth, field, own))
        return false;
      total.keys += own.keys;
      total.combinations = times(total.combinations, own.combinations);
      out.all.push_back(std::move(field));
    }
    if (has_or) {
      total.keys += branches.keys;
      total.combinations = times(total.combinations, branches.combinations);
    }
    return true;
  }

private:
  bool fail(const std::string& path, const std::string& why) {
    auto where = path.empty() ? std::string{} : "key '" + clip(path) + "': ";
    error_ = make_error(errc::invalid_argument, "filter policy: " + where + why);
    return false;
  }

  bool compile_or(const json& value, const std::string& path, size_t depth, filter_rule& out,
                  tally& branches) {
    if (!value.is_array() || value.empty())
      return fail(path, "'$or' needs a non-empty array of policy objects, got " + show(value));
    for (const auto& branch : value) {
      if (!branch.is_object())
        return fail(path, "'$or' needs an array of policy objects, got " + show(branch) + " in it");
      filter_rule rule;
      tally own;
      if (!compile_object(branch, path, "a '$or' policy", depth + 1, rule, own))
        return false;
      branches.keys = std::max(branches.keys, own.keys);
      branches.combinations = plus(branches.combinations, own.combinations);
      out.any_of.push_back(std::move(rule));
    }
    return true;
  }

  bool compile_field(const json& value, const std::string& path, size_t depth, filter_field& out,
                     tally& own) {
    if (value.is_object()) {
      if (scope_ == filter_scope::attributes)
        return fail(path, "a nested object matches a field of a JSON body, but this policy's "
                          "scope is message attributes");
      out.nested = std::make_unique<filter_rule>();
      return compile_object(value, path, "the nested object", depth + 1, *out.nested, own);
    }
    if (!value.is_array())
      return fail(path, "conditions must be in an array, e.g. [\"paid\"], got " + show(value));
    if (value.empty())
      return fail(path, "needs at least one condition, got []");
    out.any.reserve(value.size());
    for (const auto& element : value) {
      filter_condition c;
      if (!compile_condition(element, path, c))
        return false;
      out.matches_missing |= c.what == kind::exists && !c.flag;
      out.reads_numbers |= c.what == kind::numeric || !c.but_numbers.empty();
      out.any.push_back(std::move(c));
    }
    own = {1, value.size()};
    return true;
  }

  bool compile_condition(const json& c, const std::string& path, filter_condition& out) {
    if (c.is_string()) {
      out.text = c.get<std::string>();
      return true;
    }
    if (c.is_number()) {
      auto n = finite_number(c);
      if (!n)
        return fail(path, "number " + show(c) + " is out of range");
      out.what = kind::numeric;
      out.lower = out.upper = *n;
      return true;
    }
    if (c.is_boolean() || c.is_null()) {
      if (scope_ == filter_scope::attributes)
        return fail(path, show(c) + " matches JSON bodies only; attribute values are text (\"" +
                              show(c) + "\" matches that text)");
      out.what = c.is_null() ? kind::null : kind::boolean;
      out.flag = c.is_boolean() && c.get<bool>();
      return true;
    }
    if (!c.is_object())
      return fail(path, "a condition is a string, a number, true, false, null or an operator "
                        "object, got " +
                            show(c));
    if (c.size() != 1)
      return fail(path, "an operator object holds exactly one operator, got " + show(c));
    const std::string& op = c.begin().key();
    const json& arg = c.begin().value();
    if (op == "prefix" || op == "suffix" || op == "equals-ignore-case") {
      if (!arg.is_string())
        return fail(path, "'" + op + "' needs a string, got " + show(arg));
      out.what = op == "prefix"   ? kind::prefix
                 : op == "suffix" ? kind::suffix
                                  : kind::equals_ignore_case;
      out.text = arg.get<std::string>();
      if (out.what == kind::equals_ignore_case)
        std::transform(out.text.begin(), out.text.end(), out.text.begin(), ascii_lower);
      return true;
    }
    if (op == "exists") {
      if (!arg.is_boolean())
        return fail(path, "'exists' needs true or false, got " + show(arg));
      out.what = kind::exists;
      out.flag = arg.get<bool>();
      return true;
    }
    if (op == "numeric")
      return compile_numeric(arg, path, out);
    if (op == "anything-but")
      return compile_anything_but(arg, path, out);
    if (op == "cidr")
      return fail(path, "operator 'cidr' is not supported");
    return fail(path, "unknown operator '" + clip(op) +
                          "' (expected prefix, suffix, equals-ignore-case, anything-but, "
                          "numeric or exists)");
  }

  bool compile_numeric(const json& arg, const std::string& path, filter_condition& out) {
    auto bad = [&](const std::string& why) {
      return fail(path, "numeric condition " + show(arg) + " " + why);
    };
    if (!arg.is_array() || (arg.size() != 2 && arg.size() != 4))
      return bad("must be [op, number] or a range [\">\" or \">=\", number, \"<\" or \"<=\", "
                 "number]");
    out.what = kind::numeric;
    const bool range = arg.size() == 4;
    for (size_t i = 0; i < arg.size(); i += 2) {
      if (!arg[i].is_string())
        return bad("needs an operator (=, <, <=, >, >=) where " + show(arg[i]) + " is");
      const auto& op = arg[i].get_ref<const std::string&>();
      if (op != "=" && op != "<" && op != "<=" && op != ">" && op != ">=")
        return bad("has unknown operator '" + clip(op) + "' (expected =, <, <=, >, >=)");
      auto n = finite_number(arg[i + 1]);
      if (!n)
        return bad("needs a number after '" + op + "'");
      const bool lower = op[0] == '>', upper = op[0] == '<', inclusive = op.back() == '=';
      if (range && op == "=")
        return bad("cannot use '=' in a range");
      if (range && i == 0 && !lower)
        return bad("must start with the lower bound ('>' or '>=')");
      if (range && i == 2 && !upper)
        return bad("must end with the upper bound ('<' or '<=')");
      if (!upper) {
        out.lower = *n;
        out.lower_inclusive = inclusive;
      }
      if (!lower) {
        out.upper = *n;
        out.upper_inclusive = inclusive;
      }
    }
    if (out.lower > out.upper)
      return bad("has its lower bound above its upper bound");
    if (out.lower == out.upper && !(out.lower_inclusive && out.upper_inclusive))
      return bad("matches no number: its bounds are equal and exclude it");
    return true;
  }

  bool compile_anything_but(const json& arg, const std::string& path, filter_condition& out) {
    out.what = kind::anything_but;
    auto refuse = [&](const json& got) {
      return fail(path, "'anything-but' takes a string, a number, an array of them, or "
                        "{\"prefix\": text} or {\"suffix\": text}, got " +
                            show(got));
    };
    if (arg.is_object()) {
      if (arg.size() != 1 || (!arg.contains("prefix") && !arg.contains("suffix")))
        return refuse(arg);
      const std::string& op = arg.begin().key();
      const json& text = arg.begin().value();
      if (!text.is_string())
        return fail(path, "'anything-but' '" + op + "' needs a string, got " + show(text));
      out.affix = op == "prefix" ? filter_condition::affix_kind::prefix
                                 : filter_condition::affix_kind::suffix;
      out.text = text.get<std::string>();
      return true;
    }
    if (arg.is_array() && arg.empty())
      return fail(path, "'anything-but' needs at least one value, got []");
    for (const auto& value : arg.is_array() ? arg : json::array({arg})) {
      if (value.is_string())
        out.but_texts.push_back(value.get<std::string>());
      else if (auto n = finite_number(value))
        out.but_numbers.push_back(*n);
      else
        return refuse(value);
    }
    return true;
  }

  filter_scope scope_;
  caf::error error_;
};

} // namespace

caf::expected<filter_policy> filter_policy::parse(std::string_view text, filter_scope scope) {
  auto invalid = [](const std::string& why) {
    return make_error(errc::invalid_argument, "filter policy: " + why);
  };
  if (text.size() > max_policy_bytes)
    return invalid("is " + std::to_string(text.size()) + " bytes; at most " +
                   std::to_string(max_policy_bytes) + " (256 KiB) are allowed");
  json parsed;
  try {
    parsed = json::parse(text);
  } catch (const json::exception& e) {
    // Caught here, never thrown further: only the exception carries the parser's position and
    // reason, which the user needs to find the mistake.
    return invalid(std::string{"is not valid JSON: "} + e.what());
  }
  if (!parsed.is_object())
    return invalid("must be a JSON object, got " + show(parsed));
  compiler c{scope};
  auto root = std::make_shared<filter_rule>();
  tally total;
  if (!c.compile_object(parsed, "", "the policy", 1, *root, total))
    return c.take_error();
  if (total.keys > max_keys)
    return invalid("names " + std::to_string(total.keys) + " keys; at most " +
                   std::to_string(max_keys) +
                   " are allowed (nested keys count, and each '$or' policy counts with the keys "
                   "beside it)");
  if (total.combinations > max_combinations)
    return invalid("has " +
                   (total.combinations == saturated ? "over " + std::to_string(saturated)
                                                    : std::to_string(total.combinations)) +
                   " combinations of values; at most " + std::to_string(max_combinations) +
                   " are allowed (the product of each key's number of conditions, summed over "
                   "'$or' policies)");
  filter_policy policy;
  policy.scope_ = scope;
  policy.text_ = parsed.dump();
  policy.root_ = std::move(root);
  return policy;
}

bool filter_policy::matches(filter_input& input) const {
  if (scope_ == filter_scope::attributes)
    return rule_matches_attributes(*root_, input.attributes_);
  const json* body = input.body_object();
  return body != nullptr && rule_matches_body(*root_, body);
}

} // namespace mailroom
