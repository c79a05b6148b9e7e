#include "consumer/queue_consumer.hpp"

#include "mailroom/error.hpp"
#include "mailroom/protocol.hpp"

#include <caf/send.hpp>
#include <spdlog/spdlog.h>

namespace mailroom::consumer {

void start(caf::event_based_actor* self, const source& from) {
  self->set_error_handler([name = from.name](caf::error& err) {
    spdlog::warn("{}: settling a batch failed: {}", name, message_of(err));
  });
  self->send(self, poll_atom::value);
}

void poll(caf::event_based_actor* self, const source& from,
          std::function<void(std::vector<delivery>&)> on_batch) {
  receive_request request{from.prefetch, poll_wait_ms, from.visibility_ms};
  self->request(from.queue, caf::infinite, receive_atom::value, request)
      .then(
          [self, on_batch = std::move(on_batch)](std::vector<delivery>& batch) {
            if (batch.empty())
              self->send(self, poll_atom::value);
            else
              on_batch(batch);
          },
          [self, name = from.name, clock = from.clock](caf::error& err) {
            spdlog::warn("{}: receive failed: {}", name, message_of(err));
            clock->send_after(error_pause_ms, caf::actor_cast<caf::actor>(self), poll_atom::value);
          });
}

caf::behavior consume(caf::event_based_actor* self, source from,
                      std::function<void(std::vector<delivery>&)> on_batch) {
  start(self, from);
  return {
      [self, from, on_batch](poll_atom) { poll(self, from, on_batch); },
      settled,
  };
}

std::function<void()> poll_again(caf::event_based_actor* self) {
  return [self] { self->send(self, poll_atom::value); };
}

settlement::settlement(caf::event_based_actor* self, caf::actor queue, size_t outcomes,
                       std::function<void()> then)
    : self_(self), queue_(std::move(queue)), remaining_(outcomes), then_(std::move(then)) {
  if (remaining_ == 0 && then_)
    then_();
}

void settlement::ack(std::string receipt) {
  acks_.push_back(std::move(receipt));
  one_more();
}

void settlement::nack(nack_request request) {
  nacks_.push_back(std::move(request));
  one_more();
}

void settlement::settle(const std::string& receipt, std::optional<nack_request> nack) {
  if (nack)
    this->nack(std::move(*nack));
  else
    ack(receipt);
}

void settlement::leave() {
  one_more();
}

void settlement::one_more() {
  if (remaining_ == 0 || --remaining_ > 0)
    return;
  if (!acks_.empty())
    self_->send(queue_, ack_atom::value, std::move(acks_));
  if (!nacks_.empty())
    self_->send(queue_, nack_atom::value, std::move(nacks_));
  if (then_)
    then_();
}

std::shared_ptr<settlement> settle_batch(caf::event_based_actor* self, caf::actor queue,
                                         size_t outcomes, std::function<void()> then) {
  return std::make_shared<settlement>(self, std::move(queue), outcomes, std::move(then));
}

} // namespace mailroom::consumer
