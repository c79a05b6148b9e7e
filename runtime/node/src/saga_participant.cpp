// Saga participants: a service that answers each saga command with a reply message.
#include "mailroom/saga.hpp"

#include "consumer/queue_consumer.hpp"
#include "mailroom/error.hpp"
#include "mailroom/node.hpp"
#include "mailroom/protocol.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <spdlog/spdlog.h>

#include <map>

namespace mailroom {

namespace {

/// The command in `m`, or nullopt if it lacks the saga attributes.
std::optional<saga_command> read_command(const envelope& m) {
  auto id = m.attribute(saga_attribute::id);
  auto step = m.attribute(saga_attribute::step);
  auto action = m.attribute(saga_attribute::action);
  auto attempt = m.attribute(saga_attribute::attempt);
  auto reply_to = m.attribute(saga_attribute::reply_to);
  if (!id || !step || !action || !attempt || !reply_to || (*action != "do" && *action != "undo"))
    return std::nullopt;
  saga_command c;
  c.saga_id = *id;
  c.step = *step;
  c.compensation = *action == "undo";
  try {
    c.attempt = static_cast<uint32_t>(std::stoul(*attempt));
  } catch (const std::exception&) {
    return std::nullopt;
  }
  c.body = m.body;
  c.message = &m;
  return c;
}

struct participant_state {
  consumer::source from;
  participant_fn handler;
  std::shared_ptr<const registry> entities;
  static inline const char* name = "saga-participant";
};

using self_ptr = caf::stateful_actor<participant_state>*;

/// Runs the handler over a batch, sends the replies (one send per reply queue), and settles the
/// commands once their replies are durable; then polls again.
void handle(self_ptr self, std::vector<delivery>& batch) {
  auto& st = self->state;
  auto settle =
      consumer::settle_batch(self, st.from.queue, batch.size(), consumer::poll_again(self));
  std::map<std::string, std::vector<outgoing_message>> replies; // by reply queue
  std::map<std::string, std::vector<std::string>> receipts;     // of the commands answered
  for (auto& d : batch) {
    auto command = read_command(*d.message);
    if (!command) {
      settle->nack({d.receipt, -1, "not_a_saga_command",
                    "message lacks the saga attributes (saga-id, saga-step, saga-action, "
                    "saga-attempt, saga-reply-to)"});
      continue;
    }
    try {
      auto result = st.handler(*command);
      auto reply_to = *d.message->attribute(saga_attribute::reply_to);
      replies[reply_to].push_back(saga_reply_message(*d.message, result));
      receipts[reply_to].push_back(d.receipt);
    } catch (const std::exception& e) {
      settle->nack({d.receipt, -1, {}, e.what()});
    }
  }
  auto fail_all = [settle](const std::vector<std::string>& answered, const std::string& reason,
                           const std::string& error) {
    for (const auto& r : answered)
      settle->nack({r, -1, reason, error});
  };
  for (auto& [reply_to, messages] : replies) {
    auto answered = std::move(receipts[reply_to]);
    auto target = st.entities->find(entity_kind::queue, reply_to);
    if (!target) {
      spdlog::warn("{}: reply queue '{}' does not exist", st.from.name, reply_to);
      fail_all(answered, "no_reply_queue", "reply queue '" + reply_to + "' does not exist");
      continue;
    }
    // A consumer's send: held by the memory budget, it would keep its commands unacked.
    self->request(*target, caf::infinite, consumer_send_atom::value, std::move(messages))
        .then(
            [settle, answered](std::vector<std::string>&) {
              for (const auto& r : answered)
                settle->ack(r);
            },
            [self, answered, fail_all, reply_to](caf::error& err) {
              // The commands come back after their lease; the replies, sent again under the
              // same dedup ids, are not doubled.
              spdlog::warn("{}: sending replies to '{}' failed: {}", self->state.from.name,
                           reply_to, message_of(err));
              fail_all(answered, {}, "sending the reply failed: " + message_of(err));
            });
  }
}

caf::behavior participant(caf::stateful_actor<participant_state>* self, consumer::source from,
                          participant_fn handler, std::shared_ptr<const registry> entities) {
  auto& st = self->state;
  st.from = std::move(from);
  st.handler = std::move(handler);
  st.entities = std::move(entities);
  return consumer::consume(self, st.from,
                           [self](std::vector<delivery>& batch) { handle(self, batch); });
}

} // namespace

outgoing_message saga_reply_message(const envelope& command, const step_result& result) {
  outgoing_message m;
  m.body = result.body;
  m.attributes.reserve(5);
  for (auto key :
       {saga_attribute::id, saga_attribute::step, saga_attribute::action, saga_attribute::attempt})
    if (auto v = command.attribute(key))
      m.attributes.emplace_back(std::string{key}, *v);
  const char* outcome = result.what == step_result::kind::ok       ? "ok"
                        : result.what == step_result::kind::failed ? "failed"
                                                                   : "rejected";
  m.attributes.emplace_back(std::string{saga_attribute::outcome}, outcome);
  // No dedup id: a reply sent twice (the command came back after a crash) is one the saga
  // instance ignores, so deduplicating replies in the inbox queue would only cost a record each.
  m.causation_id = command.id;
  m.correlation_id = command.correlation_id;
  return m;
}

caf::expected<caf::actor> spawn_saga_participant(node& n, participant_options options,
                                                 participant_fn handler) {
  if (options.prefetch == 0)
    return make_error(errc::invalid_argument,
                      "saga participant on '" + options.queue + "': prefetch must be at least 1");
  if (!handler)
    return make_error(errc::invalid_argument,
                      "saga participant on '" + options.queue + "': no handler");
  auto q = n.queue(options.queue);
  if (!q)
    return std::move(q.error());
  consumer::source from{"saga participant on '" + options.queue + "'", *q, options.prefetch, -1,
                        n.config().clock};
  auto actor = n.system().spawn(participant, std::move(from), std::move(handler), n.entities());
  n.stop_on_shutdown(actor);
  return actor;
}

} // namespace mailroom
