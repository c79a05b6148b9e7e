// The rules of one content-based router, with no actor or I/O inside: which targets each message
// goes to. router_actor sends the messages on and dead-letters what no rule takes.
#pragma once

#include "filter_policy.hpp"
#include "mailroom/router_types.hpp"

#include <caf/expected.hpp>

#include <map>
#include <string>
#include <vector>

namespace mailroom {

class router_state {
public:
  struct plan {
    /// Messages per target (target text → messages), in the order they arrived.
    std::map<std::string, std::pair<route_target, std::vector<outgoing_message>>> by_target;
    std::vector<outgoing_message> unroutable;
    uint64_t routed = 0;
    uint64_t copies = 0;
  };

  /// Compiles the rules' policies; fails like validate(config).
  static caf::expected<router_state> make(router_config config);

  const router_config& config() const { return config_; }
  const std::string& name() const { return config_.name; }
  /// The sink of unroutable messages.
  std::string dead_letter_target() const;

  plan route(std::vector<outgoing_message> messages) const;

private:
  router_state(router_config config, std::vector<filter_policy> policies)
      : config_(std::move(config)), policies_(std::move(policies)) {}

  router_config config_;
  std::vector<filter_policy> policies_; ///< one per rule
};

} // namespace mailroom
