#include "mailroom/service.hpp"

#include "handler_outcome.hpp"

#include "mailroom/error.hpp"
#include "mailroom/node.hpp"
#include "mailroom/protocol.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <spdlog/spdlog.h>

namespace mailroom {

namespace {

using handle_atom = caf::atom_constant<caf::atom("handle")>;
using poll_atom = caf::atom_constant<caf::atom("poll")>;

/// Long-poll time per receive: short enough that a stopped service leaves promptly.
constexpr int64_t poll_wait_ms = 1'000;
/// Pause after a failed receive (queue deleted, node shutting down).
constexpr int64_t error_pause_ms = 1'000;

/// Runs the handler for one delivery; the reply is the nack to send (an empty receipt: ack).
caf::behavior worker(caf::event_based_actor* self, handler_fn handler) {
  return {
      [handler](handle_atom, const delivery& d) -> nack_request {
        // An empty receipt in the reply means "ack it".
        try {
          return settlement_of(handler(*d.message, d.receive_count), d.receipt)
              .value_or(nack_request{});
        } catch (const std::exception& e) {
          return failure_of(d.receipt, e.what());
        } catch (...) {
          return failure_of(d.receipt, "handler threw a non-standard exception");
        }
      },
  };
}

struct consumer_state {
  service_options options;
  caf::actor queue;
  clock_ptr clock; ///< the node's: paces retries after a failed receive
  std::vector<caf::actor> workers;
  static inline const char* name = "service";
};

caf::behavior consumer(caf::stateful_actor<consumer_state>* self, service_options options,
                       caf::actor queue, clock_ptr clock, handler_fn handler) {
  auto& st = self->state;
  st.options = std::move(options);
  st.queue = std::move(queue);
  st.clock = std::move(clock);
  for (uint32_t i = 0; i < st.options.concurrency; ++i) {
    auto w = self->spawn<caf::detached + caf::linked>(worker, handler);
    st.workers.push_back(w);
  }
  // Acks and nacks are sent without waiting; a refusal comes back as an error message. The
  // message is then redelivered after its lease, so log it and keep consuming: CAF's default
  // would stop the service.
  self->set_error_handler([self](caf::error& err) {
    spdlog::warn("service on '{}': settling a batch failed: {}", self->state.options.queue,
                 message_of(err));
  });
  self->send(self, poll_atom::value);
  return {
      [self](poll_atom) {
        auto& st = self->state;
        receive_request request{st.options.prefetch, poll_wait_ms, st.options.visibility_ms};
        self->request(st.queue, caf::infinite, receive_atom::value, request)
            .then(
                [self](std::vector<delivery>& batch) {
                  if (batch.empty()) {
                    self->send(self, poll_atom::value);
                    return;
                  }
                  auto& st = self->state;
                  auto remaining = std::make_shared<size_t>(batch.size());
                  auto acks = std::make_shared<std::vector<std::string>>();
                  auto nacks = std::make_shared<std::vector<nack_request>>();
                  for (size_t i = 0; i < batch.size(); ++i) {
                    auto receipt = batch[i].receipt;
                    self->request(st.workers[i % st.workers.size()], caf::infinite,
                                  handle_atom::value, batch[i])
                        .then([self, remaining, acks, nacks, receipt](nack_request& n) {
                          if (n.receipt.empty())
                            acks->push_back(receipt);
                          else
                            nacks->push_back(std::move(n));
                          if (--*remaining > 0)
                            return;
                          auto& st = self->state;
                          if (!acks->empty())
                            self->send(st.queue, ack_atom::value, std::move(*acks));
                          if (!nacks->empty())
                            self->send(st.queue, nack_atom::value, std::move(*nacks));
                          self->send(self, poll_atom::value);
                        });
                  }
                },
                [self](caf::error& err) {
                  spdlog::warn("service on '{}': receive failed: {}", self->state.options.queue,
                               message_of(err));
                  self->state.clock->send_after(error_pause_ms, caf::actor_cast<caf::actor>(self),
                                                poll_atom::value);
                });
      },
      // Replies to our fire-and-forget acks and nacks.
      [](const std::vector<ack_outcome>&) {},
  };
}

} // namespace

caf::expected<caf::actor> spawn_service(node& n, service_options options, handler_fn handler) {
  if (options.prefetch == 0 || options.concurrency == 0)
    return make_error(errc::invalid_argument, "service on '" + options.queue +
                                                  "': prefetch and concurrency must be at least 1");
  if (!handler)
    return make_error(errc::invalid_argument, "service on '" + options.queue + "': no handler");
  auto q = n.queue(options.queue);
  if (!q)
    return std::move(q.error());
  auto service =
      n.system().spawn(consumer, std::move(options), *q, n.config().clock, std::move(handler));
  n.stop_on_shutdown(service);
  return service;
}

caf::expected<caf::actor> subscribe_service(node& n, const std::string& topic,
                                            const std::string& service, handler_fn handler,
                                            subscription sub, queue_config queue,
                                            service_options options) {
  if (auto err = validate_name("service", service))
    return err;
  if (auto t = n.topic(topic); !t)
    return std::move(t.error());
  queue.name = topic + "." + service;
  if (auto existing = n.queue_configuration(queue.name); !existing)
    if (auto err = n.create_queue(queue))
      return err;
  sub.queue = queue.name;
  if (auto err = n.subscribe(topic, sub))
    return err;
  options.queue = queue.name;
  return spawn_service(n, std::move(options), std::move(handler));
}

} // namespace mailroom
