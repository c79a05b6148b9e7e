// SNS subscription filter policies: which published messages a subscription takes.
//
//   {"kind": ["paid", {"prefix": "refund-"}], "amount": [{"numeric": [">=", 100]}]}
//
// Keys are ANDed, the conditions of a key ORed; "$or": [policy, ...] takes any of several
// policies. In attribute scope keys name message attributes; in body scope they name fields of
// the JSON body, and a nested object descends into a nested field. Conditions: a string (exact),
// a number (numeric equality), true/false/null (body scope), {"prefix"}, {"suffix"},
// {"equals-ignore-case"}, {"anything-but": value | [values] | {"prefix"|"suffix": ...}},
// {"numeric": [op, n] or [op, n, op, n]} with = < <= > >=, {"exists": bool}.
//
// A policy is compiled once when a subscription is made, and matched against every published
// message; the body is parsed at most once per message, whatever the number of subscriptions
// (filter_input). Limits as SNS: 5 keys, 150 value combinations, nesting depth 5, 256 KiB.
#pragma once

#include "mailroom/types.hpp"

#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailroom {

enum class filter_scope : uint8_t {
  attributes, ///< SNS FilterPolicyScope MessageAttributes
  body,       ///< SNS FilterPolicyScope MessageBody
};

/// One message as the policies see it. Not thread-safe; one per message being routed.
class filter_input {
public:
  filter_input(const attribute_list& attributes, std::string_view body)
      : attributes_(attributes), body_(body) {}

  const std::string* attribute(const std::string& key) const;
  /// The body as a JSON object, or nullptr when it is not one (then no body policy matches).
  const nlohmann::json* body_object();

private:
  const attribute_list& attributes_;
  std::string_view body_;
  bool parsed_ = false;
  std::optional<nlohmann::json> body_json_;
};

class filter_policy {
public:
  /// Compiles a policy; errc::invalid_argument naming the key and what was expected.
  static caf::expected<filter_policy> parse(std::string_view json, filter_scope scope);

  bool matches(filter_input& input) const;
  filter_scope scope() const { return scope_; }
  /// The policy as given, compacted.
  const std::string& text() const { return text_; }

  struct condition;
  struct rule;

private:
  filter_policy() = default;

  filter_scope scope_ = filter_scope::attributes;
  std::string text_;
  std::shared_ptr<const rule> root_; // immutable once compiled, so copies share it
};

} // namespace mailroom
