// The alarm actor: alarm_state plus a timer that reads the watched entity's stats every
// `check_every_ms` and publishes alerts and resolves to the alarm's topic (and logs them).
// Protocol (mailroom/protocol.hpp): (stats_atom) -> alarm_status; (config_atom, alarm_config)
// -> ok_atom. Firing state is not journaled: after a restart an alarm that still holds fires
// again once its duration has passed.
#pragma once

#include "alarm/alarm_state.hpp"
#include "mailroom/clock.hpp"
#include "mailroom/registry.hpp"

#include <caf/actor_system.hpp>

#include <memory>

namespace mailroom {

struct alarm_actor_deps {
  std::shared_ptr<const registry> entities; ///< the watched entity and the topic
  clock_ptr clock;
};

caf::actor spawn_alarm(caf::actor_system& system, alarm_state state, alarm_actor_deps deps);

} // namespace mailroom
