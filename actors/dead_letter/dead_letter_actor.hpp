// The dead-letter sink actor: dead_letter_state plus the journal and redrive. Protocol in
// mailroom/protocol.hpp.
#pragma once

#include "dead_letter/dead_letter_state.hpp"
#include "mailroom/clock.hpp"
#include "mailroom/registry.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include <memory>

namespace mailroom {

class journal;

struct dead_letter_actor_deps {
  journal* log = nullptr;                   ///< outlives the actor (owned by the node)
  std::shared_ptr<const registry> entities; ///< finds redrive targets
  clock_ptr clock;                          ///< paces rate-limited redrives
};

caf::actor spawn_dead_letter_sink(caf::actor_system& system, dead_letter_state state,
                                  dead_letter_actor_deps deps);

} // namespace mailroom
