// The queue actor: queue_state plus the journal, timers and long polling. Its message protocol
// is in mailroom/protocol.hpp. It holds behaviour and state; all I/O goes through the journal.
#pragma once

#include "queue/queue_state.hpp"
#include "mailroom/clock.hpp"
#include "mailroom/memory_budget.hpp"
#include "mailroom/registry.hpp"

#include <caf/behavior.hpp>
#include <caf/stateful_actor.hpp>

#include <memory>

namespace mailroom {

class journal;

struct queue_actor_deps {
  journal* log = nullptr;                   ///< outlives the actor (owned by the node)
  std::shared_ptr<const registry> entities; ///< finds the dead-letter sink
  clock_ptr clock;                          ///< unix ms; virtual in tests
  /// The node's memory budget: what the queue holds is charged to it, and above its soft limit
  /// sends wait for room. Null: no budget.
  std::shared_ptr<memory_budget> memory;
};

struct queue_actor_state;

caf::behavior queue_actor(caf::stateful_actor<queue_actor_state>* self, queue_state state,
                          queue_actor_deps deps);

/// Spawns a queue actor around recovered or new state.
caf::actor spawn_queue(caf::actor_system& system, queue_state state, queue_actor_deps deps);

} // namespace mailroom
