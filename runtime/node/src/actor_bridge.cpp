#include "actor_bridge.hpp"

#include "mailroom/error.hpp"

#include <caf/actor_pool.hpp>

#include <string>

namespace mailroom {

namespace {

caf::behavior run_jobs(caf::event_based_actor* self) {
  return {[self](bridge_job_ptr& job) { job->body(self); }};
}

} // namespace

actor_bridge::actor_bridge(caf::actor_system& system, size_t workers, uint32_t max_blocking)
    : max_blocking_(max_blocking) {
  asker_ = system.spawn(run_jobs);
  auto worker = [&system] { return system.spawn<caf::detached>(run_jobs); };
  workers_ = caf::actor_pool::make(system.dummy_execution_unit(), workers, worker,
                                   caf::actor_pool::round_robin());
}

actor_bridge::~actor_bridge() {
  caf::anon_send_exit(asker_, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(workers_, caf::exit_reason::user_shutdown);
}

kj::Promise<caf::error> actor_bridge::run(std::function<caf::error()> call) {
  if (blocking_ >= max_blocking_)
    return make_error(errc::unavailable,
                      "the node is busy: " + std::to_string(blocking_) +
                          " catalog and query calls are in flight (each waits for a journal "
                          "commit or scan); retry");
  ++blocking_;
  auto paf = kj::newPromiseAndCrossThreadFulfiller<caf::error>();
  auto fulfiller = std::make_shared<kj::Own<kj::CrossThreadPromiseFulfiller<caf::error>>>(
      std::move(paf.fulfiller));
  auto job = std::make_shared<bridge_job>();
  job->body = [call = std::move(call), fulfiller](caf::event_based_actor*) {
    (*fulfiller)->fulfill(call());
  };
  caf::anon_send(workers_, std::move(job));
  // attach, not then: a connection that goes away drops the promise, and the count with it.
  return paf.promise.attach(kj::defer([this] { --blocking_; }));
}

} // namespace mailroom
