// The router actor: router_state plus the sends to its targets. Protocol (mailroom/protocol.hpp):
//   (route_atom, vector<outgoing_message>) -> route_result, once every target and the sink
//   confirmed. Not one transaction across targets (unlike a topic's fan-out): if a target
//   refuses, the reply is that error and targets that already took the messages keep them, so a
//   producer that retries should give its messages dedup ids.
//   (config_atom, router_config) -> ok_atom
#pragma once

#include "router/router_state.hpp"
#include "mailroom/clock.hpp"
#include "mailroom/registry.hpp"

#include <caf/actor_system.hpp>

#include <memory>

namespace mailroom {

struct router_actor_deps {
  std::shared_ptr<const registry> entities; ///< finds targets and the sink
  clock_ptr clock;
};

caf::actor spawn_router(caf::actor_system& system, router_state state, router_actor_deps deps);

} // namespace mailroom
