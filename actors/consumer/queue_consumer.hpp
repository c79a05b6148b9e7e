// How every consumer of a queue inside the node receives and settles: services, transactional
// services, saga participants and saga managers. One mechanism:
//
//   poll     ask the queue for a batch (a long poll); an empty batch polls again at once, a
//            failed receive (queue deleted, node stopping) pauses on the node's clock first;
//   handle   the consumer gets each non-empty batch and gives every delivery an outcome;
//   settle   once the whole batch has its outcomes, the acks go to the queue in one message and
//            the nacks in another, without waiting for their answers (a refusal is logged and
//            the message comes back after its lease);
//   again    the consumer sends itself poll_atom when it may take the next batch.
//
// A consumer whose behavior is only that returns consume(); one with more handlers (the saga
// manager) calls start() as its behavior begins, handles poll_atom by calling poll(), and takes
// the (ignored) answers to the acks and nacks with `settled`.
#pragma once

#include "mailroom/clock.hpp"
#include "mailroom/types.hpp"

#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mailroom::consumer {

using poll_atom = caf::atom_constant<caf::atom("poll")>;

/// Long-poll time per receive: short enough that a stopped consumer leaves promptly.
constexpr int64_t poll_wait_ms = 1'000;
/// Pause after a failed receive.
constexpr int64_t error_pause_ms = 1'000;

struct source {
  std::string name; ///< how logs name the consumer: "service on 'orders'"
  caf::actor queue;
  uint32_t prefetch = 1;
  int64_t visibility_ms = -1; ///< -1: the queue's
  clock_ptr clock;            ///< the node's: paces the pause after a failed receive
};

/// Logs failed settlements instead of letting CAF's default stop the consumer, and sends the
/// first poll.
void start(caf::event_based_actor* self, const source& from);

/// Receives one batch from `from.queue` and hands it to `on_batch` if it is not empty.
void poll(caf::event_based_actor* self, const source& from,
          std::function<void(std::vector<delivery>&)> on_batch);

/// The whole behavior of a consumer that only consumes: start(), then poll() on every poll_atom
/// with `on_batch`, which sends poll_atom (see poll_again) when the next batch may come.
caf::behavior consume(caf::event_based_actor* self, source from,
                      std::function<void(std::vector<delivery>&)> on_batch);

/// What a settlement runs when its batch is settled, for a consumer that then polls again.
std::function<void()> poll_again(caf::event_based_actor* self);

/// The outcomes of one batch, sent to the queue once all are in.
class settlement {
public:
  /// `then` runs once the batch is settled (e.g. to poll again).
  settlement(caf::event_based_actor* self, caf::actor queue, size_t outcomes,
             std::function<void()> then = {});

  void ack(std::string receipt);
  void nack(nack_request request);
  /// std::nullopt: ack `receipt`; else send the nack.
  void settle(const std::string& receipt, std::optional<nack_request> nack);
  /// Neither: the delivery comes back after its lease (what was not made durable).
  void leave();

private:
  void one_more();

  caf::event_based_actor* self_;
  caf::actor queue_;
  size_t remaining_;
  std::function<void()> then_;
  std::vector<std::string> acks_;
  std::vector<nack_request> nacks_;
};

/// A settlement shared by the asynchronous handlers of one batch.
std::shared_ptr<settlement> settle_batch(caf::event_based_actor* self, caf::actor queue,
                                         size_t outcomes, std::function<void()> then = {});

/// The answer to a fire-and-forget ack or nack, for the consumer's behavior.
inline void settled(const std::vector<ack_outcome>&) {}

} // namespace mailroom::consumer
