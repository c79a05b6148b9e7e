// The one bridge between a kj event loop (the client endpoint's thread, which must never block)
// and the actors:
// - ask<R>(target, ...) sends a request from one long-lived bridge actor and resolves on the
//   kj thread with the reply, through a cross-thread fulfiller (no actor spawned per call);
// - run(call) runs a blocking node call (a catalog change waits for its commit, trace and saga
//   reads scan the journal) on a fixed pool of detached workers, with a bound on calls in
//   flight, so a client that fires thousands of `queue create` at once costs a queue of
//   closures and a "busy" refusal, not a thread each.
// Use from the kj thread only.
#pragma once

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/error.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>
#include <caf/send.hpp>
#include <kj/async.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <tuple>

namespace mailroom {

/// What the bridge actor or a worker runs: a closure, handed over by pointer.
struct bridge_job {
  std::function<void(caf::event_based_actor*)> body;
};
using bridge_job_ptr = std::shared_ptr<bridge_job>;

class actor_bridge {
public:
  /// Workers are OS threads (detached actors); the node waits for every actor at shutdown, so
  /// a call never outlives the node.
  actor_bridge(caf::actor_system& system, size_t workers, uint32_t max_blocking);
  ~actor_bridge(); ///< stops the actors after their current job; queued ones are dropped

  actor_bridge(const actor_bridge&) = delete;
  actor_bridge& operator=(const actor_bridge&) = delete;

  /// Sends a request to `target`; resolves on this kj thread with the typed reply.
  template <class R, class... Ts>
  kj::Promise<caf::expected<R>> ask(const caf::actor& target, Ts... xs) {
    auto paf = kj::newPromiseAndCrossThreadFulfiller<caf::expected<R>>();
    // std::function needs a copyable callable; the fulfiller is move-only.
    auto fulfiller = std::make_shared<kj::Own<kj::CrossThreadPromiseFulfiller<caf::expected<R>>>>(
        std::move(paf.fulfiller));
    auto job = std::make_shared<bridge_job>();
    job->body = [target, fulfiller,
                 args = std::make_tuple(std::move(xs)...)](caf::event_based_actor* self) mutable {
      std::apply(
          [&](auto&... a) {
            self->request(target, caf::infinite, std::move(a)...)
                .then([fulfiller](R& value) { (*fulfiller)->fulfill(std::move(value)); },
                      [fulfiller](caf::error& err) { (*fulfiller)->fulfill(std::move(err)); });
          },
          args);
    };
    caf::anon_send(asker_, std::move(job));
    return std::move(paf.promise);
  }

  /// Runs `call` on a worker and resolves on this kj thread with its result; past the bound,
  /// at once with errc::unavailable.
  kj::Promise<caf::error> run(std::function<caf::error()> call);

  uint32_t blocking_in_flight() const { return blocking_; }

private:
  caf::actor asker_;
  caf::actor workers_;
  uint32_t blocking_ = 0;
  uint32_t max_blocking_;
};

} // namespace mailroom

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mailroom::bridge_job_ptr)
