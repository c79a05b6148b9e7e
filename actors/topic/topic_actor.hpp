// The topic actor: topic_state plus the two-phase enqueue of runtime/storage/staging.hpp, which
// makes a publish reach every matching subscriber queue or none. Its message protocol is in
// mailroom/protocol.hpp.
#pragma once

#include "topic/topic_state.hpp"
#include "mailroom/clock.hpp"
#include "mailroom/registry.hpp"

#include <caf/actor_system.hpp>

#include <memory>

namespace mailroom {

class journal;

struct topic_actor_deps {
  journal* log = nullptr;                   ///< outlives the actor (owned by the node)
  std::shared_ptr<const registry> entities; ///< finds subscriber queues and sinks
  clock_ptr clock;                          ///< unix ms; virtual in tests
  bool trace = false;                       ///< journal a "published" step per message
  /// The account of notifications' ARNs when a publish names no scope (not the HTTP face).
  std::string aws_account = aws_default_account;
};

caf::actor spawn_topic(caf::actor_system& system, topic_state state, topic_actor_deps deps);

} // namespace mailroom
