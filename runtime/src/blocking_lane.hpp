// Blocking node calls (catalog changes wait for a commit, trace and saga reads scan the journal)
// for the client endpoint's kj thread, which must never block: a fixed pool of detached CAF
// workers runs them, and a bound on calls in flight refuses more, so a client that fires
// thousands of `queue create` at once costs a queue of closures, not a thread each.
#pragma once

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/error.hpp>
#include <kj/async.h>

#include <cstdint>
#include <functional>
#include <memory>

namespace mailroom {

struct blocking_job {
  std::function<void()> body;
};
using blocking_job_ptr = std::shared_ptr<blocking_job>;

class blocking_lane {
public:
  /// Workers are OS threads (detached actors); the node waits for them at shutdown, so a call
  /// never outlives the node.
  blocking_lane(caf::actor_system& system, size_t workers, uint32_t max_in_flight);
  ~blocking_lane(); ///< stops the workers after their current call; queued ones are dropped

  blocking_lane(const blocking_lane&) = delete;
  blocking_lane& operator=(const blocking_lane&) = delete;

  /// Runs `call` on a worker and resolves on the calling kj thread with its result; past the
  /// bound, at once with errc::unavailable. Call from the kj thread only.
  kj::Promise<caf::error> run(std::function<caf::error()> call);

  uint32_t in_flight() const { return in_flight_; }

private:
  caf::actor pool_;
  uint32_t in_flight_ = 0;
  uint32_t max_in_flight_;
};

} // namespace mailroom

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mailroom::blocking_job_ptr)
