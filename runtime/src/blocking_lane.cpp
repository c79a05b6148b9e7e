#include "blocking_lane.hpp"

#include "mailroom/error.hpp"

#include <caf/actor_pool.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include <string>

namespace mailroom {

blocking_lane::blocking_lane(caf::actor_system& system, size_t workers, uint32_t max_in_flight)
    : max_in_flight_(max_in_flight) {
  auto worker = [&system] {
    return system.spawn<caf::detached>(
        []() -> caf::behavior { return {[](blocking_job_ptr& job) { job->body(); }}; });
  };
  pool_ = caf::actor_pool::make(system.dummy_execution_unit(), workers, worker,
                                caf::actor_pool::round_robin());
}

blocking_lane::~blocking_lane() {
  caf::anon_send_exit(pool_, caf::exit_reason::user_shutdown);
}

kj::Promise<caf::error> blocking_lane::run(std::function<caf::error()> call) {
  if (in_flight_ >= max_in_flight_)
    return make_error(errc::unavailable,
                      "the node is busy: " + std::to_string(in_flight_) +
                          " catalog and query calls are in flight (each waits for a journal "
                          "commit or scan); retry");
  ++in_flight_;
  auto paf = kj::newPromiseAndCrossThreadFulfiller<caf::error>();
  auto fulfiller = std::make_shared<kj::Own<kj::CrossThreadPromiseFulfiller<caf::error>>>(
      std::move(paf.fulfiller));
  auto job = std::make_shared<blocking_job>();
  job->body = [call = std::move(call), fulfiller] { (*fulfiller)->fulfill(call()); };
  caf::anon_send(pool_, std::move(job));
  // attach, not then: a connection that goes away drops the promise, and the count with it.
  return paf.promise.attach(kj::defer([this] { --in_flight_; }));
}

} // namespace mailroom
