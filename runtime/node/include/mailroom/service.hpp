// Services as actors: a handler that consumes a queue.
//
//   auto svc = mailroom::spawn_service(node, {.queue = "orders", .concurrency = 4},
//     [](const mailroom::envelope& m, uint32_t receive_count) {
//       if (m.body.empty()) return mailroom::outcome::dead_letter("empty order");
//       if (!charge(m)) return mailroom::outcome::retry_after(std::chrono::seconds(5));
//       return mailroom::outcome::ack();
//     });
//
// The service leases up to `prefetch` messages at a time, runs the handler on `concurrency`
// workers (each on its own thread, so a handler may block), and settles the whole batch with
// one ack call and one nack call. A handler that throws counts as a failure with the
// exception's message as the error text; the queue's retry policy then applies.
#pragma once

#include "mailroom/topic_types.hpp"
#include "mailroom/types.hpp"

#include <caf/actor.hpp>
#include <caf/expected.hpp>

#include <chrono>
#include <functional>
#include <string>

namespace mailroom {

class node;

/// What a handler decides for one message.
struct outcome {
  enum class kind : uint8_t { ack, retry, dead_letter };
  kind what = kind::ack;
  int64_t retry_after_ms = -1; ///< -1: the queue's backoff policy
  std::string reason;          ///< dead_letter: why; retry: the error text

  static outcome ack() { return {}; }
  /// Retry under the queue's backoff policy, recording `error`.
  static outcome retry(std::string error = {}) { return {kind::retry, -1, std::move(error)}; }
  static outcome retry_after(std::chrono::milliseconds delay, std::string error = {}) {
    return {kind::retry, delay.count(), std::move(error)};
  }
  static outcome dead_letter(std::string reason) {
    return {kind::dead_letter, -1, std::move(reason)};
  }
};

using handler_fn = std::function<outcome(const envelope& message, uint32_t receive_count)>;

struct service_options {
  std::string queue;
  uint32_t prefetch = 64;     ///< messages leased per receive
  uint32_t concurrency = 1;   ///< handlers running at once
  int64_t visibility_ms = -1; ///< lease per delivery; -1: the queue's timeout
};

/// Starts a service on `queue`. The returned actor runs until it is sent an exit message
/// (caf::anon_send_exit) or the node shuts down. Errors: unknown queue, prefetch or
/// concurrency of 0.
caf::expected<caf::actor> spawn_service(node& n, service_options options, handler_fn handler);

/// Subscribes a service to a topic. The service gets a durable queue of its own, named
/// "TOPIC.SERVICE" and created if missing (with `queue`'s settings; its name is ignored),
/// subscribed with `sub` (its queue is ignored), and consumed as by spawn_service with
/// `options` (its queue is ignored). So a publish reaches the service durably, with retries and
/// dead-lettering, like any subscriber queue.
caf::expected<caf::actor> subscribe_service(node& n, const std::string& topic,
                                            const std::string& service, handler_fn handler,
                                            subscription sub = {}, queue_config queue = {},
                                            service_options options = {});

} // namespace mailroom
