// SNS subscription filter policies: which published messages a subscription takes.
//
//   {"kind": ["paid", {"prefix": "refund-"}], "amount": [{"numeric": [">=", 100]}]}
//
// Keys are ANDed, the conditions of a key ORed; "$or": [policy, ...] takes any of several
// policies and is ANDed with the keys beside it. In attribute scope keys name message attributes
// (whose values are text); in body scope they name fields of the JSON body, a nested object in
// the policy descends into a nested field, and an array in the body matches when one element
// does. Conditions: "text" (exact), 5 (numeric equality: "5.0" is 5 in attributes), true, false
// and null (body scope), {"prefix"}, {"suffix"}, {"equals-ignore-case"} (ASCII case),
// {"anything-but": value | [values] | {"prefix"|"suffix": "..."}}, {"numeric": [op, n]} or
// {"numeric": [">"|">=", n, "<"|"<=", m]} with op one of = < <= > >=, {"exists": true|false}.
// A missing key matches only {"exists": false}; "anything-but" needs the key, as in SNS.
//
// Limits, as SNS: 256 KiB of text; 5 keys, where a nested key counts and each "$or" branch
// counts with the keys outside it (the largest branch is what counts); 150 combinations of
// values (the product of the keys' condition counts, summed over "$or" branches); objects nested
// 5 deep, the policy itself and each "$or" branch being one level.
//
// Not supported: "cidr" (IP address ranges), SNS's limits on number range and precision (numbers
// here are doubles), Unicode case folding (equals-ignore-case folds ASCII). An array of objects
// in a body matches a nested policy when one element matches all of it (SNS flattens the array
// first, so its keys could match across elements).
#pragma once

#include "mailroom/types.hpp"

#include <caf/expected.hpp>
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace mailroom {

enum class filter_scope : uint8_t {
  attributes, ///< SNS FilterPolicyScope MessageAttributes
  body,       ///< SNS FilterPolicyScope MessageBody
};

namespace detail {
struct filter_rule; // the compiled policy, defined in filter_policy.cpp
} // namespace detail

/// One message as the policies see it. The body is parsed as JSON at most once, on the first
/// body-scope policy that looks at it, however many policies follow: a topic matches every
/// subscription's policy against one input per published message.
/// Borrows `attributes` and `body`: both must outlive it. Not thread-safe (the lazy parse);
/// made and used by the routing actor for one message.
class filter_input {
public:
  filter_input(const attribute_list& attributes, std::string_view body);
  ~filter_input();
  filter_input(const filter_input&) = delete;
  filter_input& operator=(const filter_input&) = delete;

private:
  friend class filter_policy;

  /// The body as a JSON object, or nullptr when it is not one (then no body policy matches).
  const nlohmann::json* body_object();

  const attribute_list& attributes_;
  std::string_view body_;
  bool parsed_ = false;
  // Behind a pointer so that this header needs only json_fwd.hpp: it is included by the topic
  // actor and the node, which have no use for all of nlohmann/json.hpp.
  std::unique_ptr<nlohmann::json> body_json_;
};

/// A compiled policy: immutable, cheap to copy (copies share the compiled rule), safe to match
/// from several threads with separate inputs.
class filter_policy {
public:
  /// Compiles a policy. Errors are errc::invalid_argument with a message that starts
  /// "filter policy: " and names the key and what was expected, e.g.
  /// "filter policy: key 'price': numeric condition [">", "x"] needs a number after '>'".
  static caf::expected<filter_policy> parse(std::string_view json, filter_scope scope);

  /// Whether the message passes. A body policy never matches a body that is not a JSON object.
  bool matches(filter_input& input) const;

  filter_scope scope() const { return scope_; }

  /// The policy as given, as compact JSON (keys sorted): for storing and showing.
  const std::string& text() const { return text_; }

private:
  filter_policy() = default;

  filter_scope scope_ = filter_scope::attributes;
  std::string text_;
  std::shared_ptr<const detail::filter_rule> root_; // never null
};

} // namespace mailroom
