// The node's message mover: runs SQS message move tasks, each taking the messages a queue held
// when it started (a dead-letter queue) to the queues they died in, or to one destination, with
// their ids and history. A chunk is leased from the source, redriven into its destinations
// and acked only once they hold it durably, so a crash moves a message twice at worst, never
// loses it. Tasks live in memory: a restart ends them (what they moved stays moved). Protocol in
// mailroom/protocol.hpp.
#pragma once

#include "mailroom/clock.hpp"
#include "mailroom/registry.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include <memory>

namespace mailroom {

struct message_mover_deps {
  std::shared_ptr<const registry> entities; ///< finds the source and destination queues
  clock_ptr clock;                          ///< paces rate-limited tasks
};

caf::actor spawn_message_mover(caf::actor_system& system, message_mover_deps deps);

} // namespace mailroom
