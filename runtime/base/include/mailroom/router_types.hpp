// Value types of content-based routers: ordered rules that send each message on to a queue, a
// topic or another router, by its attributes or the fields of its JSON body.
#pragma once

#include "mailroom/types.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mailroom {

/// Where a rule sends a message. Written "queue:NAME", "topic:NAME" or "router:NAME".
struct route_target {
  enum class kind : uint8_t { queue, topic, router };
  kind what = kind::queue;
  std::string name;

  std::string to_string() const;
  static caf::expected<route_target> parse(const std::string& text);
  friend bool operator==(const route_target&, const route_target&) = default;
};

struct route_rule {
  /// SNS filter policy JSON (see runtime/base/src/filter_policy.hpp); it decides the rule.
  std::string match;
  bool match_body = false; ///< the policy looks at JSON body fields, not attributes
  route_target to;

  friend bool operator==(const route_rule&, const route_rule&) = default;
};

struct router_config {
  std::string name;
  std::vector<route_rule> rules;        ///< in order
  bool all_match = false;               ///< false: the first matching rule; true: every one
  std::optional<route_target> fallback; ///< where a message no rule takes goes; none: the sink
  /// Sink for unroutable messages (reason "unroutable"); empty: "<name>-unroutable".
  std::string dead_letter_target;

  friend bool operator==(const router_config&, const router_config&) = default;
};

/// Checks names, targets and rules (each policy must compile); the error names the rule.
caf::error validate(const router_config& config);

/// Refuses a set of routers in which one reaches itself through router targets; the error
/// names the loop ("router 'a' → router 'b' → router 'a'").
caf::error check_for_loops(const std::vector<router_config>& routers);

struct route_result {
  uint64_t routed = 0;     ///< messages sent on to at least one target
  uint64_t unroutable = 0; ///< messages that went to the dead-letter sink
  uint64_t copies = 0;     ///< sends to targets (all-match may send one message several times)
};

} // namespace mailroom

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mailroom::router_config)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mailroom::route_result)
