// The saga manager of one definition (all its versions): starts instances, consumes the
// definition's inbox queue (step replies and redriven resume records) and hands each message to
// its instance, acking it once the instance's transition is durable; wakes instances whose
// timeout or retry is due; counts metrics. Instances are actors of their own (not linked: it
// stops them).
// Protocol: actors/saga/saga_protocol.hpp.
#pragma once

#include "mailroom/clock.hpp"
#include "mailroom/registry.hpp"
#include "mailroom/saga_types.hpp"

#include <caf/actor_system.hpp>

#include <atomic>
#include <memory>
#include <vector>

namespace mailroom {

class journal;

struct saga_manager_deps {
  journal* log = nullptr;
  std::shared_ptr<const registry> entities;
  clock_ptr clock;
  /// The last start sequence given out, shared by every definition's manager.
  std::shared_ptr<std::atomic<uint64_t>> last_seq;
};

/// `versions`: every stored version of the definition; `unfinished`: its instances the journal
/// holds as RUNNING, COMPENSATING or PARKED, resumed at once. REQUIRES: the inbox queue and
/// the dead-letter sink exist.
caf::actor spawn_saga_manager(caf::actor_system& system, std::vector<saga_definition> versions,
                              std::vector<saga_instance> unfinished, saga_manager_deps deps);

} // namespace mailroom
