// A saga instance as an actor: saga_state plus the I/O it asks for. Every transition is
// journaled (one row per instance, rewritten) BEFORE its commands are sent, so a crash never
// leaves a command the journal does not know about; after a restart the waiting command is
// sent again under the same dedup id. A parked saga's dead-letter record commits in the same
// transaction as the PARKED state. Protocol: actors/saga/saga_protocol.hpp.
#pragma once

#include "saga/saga_state.hpp"
#include "mailroom/clock.hpp"
#include "mailroom/registry.hpp"

#include <caf/actor.hpp>
#include <caf/event_based_actor.hpp>

#include <memory>

namespace mailroom {

class journal;

struct saga_instance_deps {
  journal* log = nullptr;
  std::shared_ptr<const registry> entities; ///< the steps' queues and the dead-letter sink
  clock_ptr clock;
};

/// Spawned by the manager, which stops it when it stops itself. Not linked: links are kept in a
/// list that every exit scans, which made thousands of short-lived instances quadratic.
/// `journaled`: the instance has a row already (recovered), else its first put inserts it.
caf::actor spawn_saga_instance(caf::event_based_actor* manager, saga_state state,
                               saga_instance_deps deps, bool journaled);

} // namespace mailroom
