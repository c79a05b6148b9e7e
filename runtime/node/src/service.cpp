#include "mailroom/service.hpp"

#include "consumer/queue_consumer.hpp"
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
  consumer::source from;
  std::vector<caf::actor> workers;
  static inline const char* name = "service";
};

/// Hands a batch out to the workers, settles it once every handler answered, then polls again.
void dispatch(caf::stateful_actor<consumer_state>* self, std::vector<delivery>& batch) {
  auto& st = self->state;
  auto settle =
      consumer::settle_batch(self, st.from.queue, batch.size(), consumer::poll_again(self));
  for (size_t i = 0; i < batch.size(); ++i)
    self->request(st.workers[i % st.workers.size()], caf::infinite, handle_atom::value, batch[i])
        .then([settle, receipt = batch[i].receipt](nack_request& n) {
          settle->settle(receipt, n.receipt.empty() ? std::nullopt
                                                    : std::optional<nack_request>{std::move(n)});
        });
}

caf::behavior service_consumer(caf::stateful_actor<consumer_state>* self, consumer::source from,
                               uint32_t concurrency, handler_fn handler) {
  auto& st = self->state;
  st.from = std::move(from);
  for (uint32_t i = 0; i < concurrency; ++i)
    st.workers.push_back(self->spawn<caf::detached + caf::linked>(worker, handler));
  return consumer::consume(self, st.from,
                           [self](std::vector<delivery>& batch) { dispatch(self, batch); });
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
  consumer::source from{"service on '" + options.queue + "'", *q, options.prefetch,
                        options.visibility_ms, n.config().clock};
  auto service =
      n.system().spawn(service_consumer, std::move(from), options.concurrency, std::move(handler));
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
