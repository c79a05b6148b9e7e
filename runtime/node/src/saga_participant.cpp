// Saga participants: a service that answers each saga command with a reply message.
#include "mailroom/saga.hpp"

#include "mailroom/error.hpp"
#include "mailroom/node.hpp"
#include "mailroom/protocol.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <spdlog/spdlog.h>

#include <map>

namespace mailroom {

namespace {

using poll_atom = caf::atom_constant<caf::atom("poll")>;

constexpr int64_t poll_wait_ms = 1'000;

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
  participant_options options;
  participant_fn handler;
  caf::actor queue;
  std::shared_ptr<const registry> entities;
  clock_ptr clock; ///< the node's: paces retries after a failed receive
  static inline const char* name = "saga-participant";
};

using self_ptr = caf::stateful_actor<participant_state>*;

/// Runs the handler over a batch, sends the replies (one send per reply queue), and settles the
/// commands once their replies are durable.
void handle(self_ptr self, std::vector<delivery>& batch) {
  auto& st = self->state;
  std::map<std::string, std::vector<outgoing_message>> replies; // by reply queue
  std::map<std::string, std::vector<std::string>> receipts;     // of the commands answered
  std::vector<nack_request> nacks;
  for (auto& d : batch) {
    auto command = read_command(*d.message);
    if (!command) {
      nacks.push_back({d.receipt, -1, "not_a_saga_command",
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
      nacks.push_back({d.receipt, -1, {}, e.what()});
    }
  }
  if (!nacks.empty())
    self->send(st.queue, nack_atom::value, std::move(nacks));
  auto outstanding = std::make_shared<size_t>(replies.size() + 1);
  auto next = [self, outstanding] {
    if (--*outstanding == 0)
      self->send(self, poll_atom::value);
  };
  for (auto& [reply_to, messages] : replies) {
    auto done_receipts = std::move(receipts[reply_to]);
    auto target = st.entities->find(entity_kind::queue, reply_to);
    if (!target) {
      spdlog::warn("saga participant on '{}': reply queue '{}' does not exist", st.options.queue,
                   reply_to);
      std::vector<nack_request> failed;
      for (auto& r : done_receipts)
        failed.push_back(
            {r, -1, "no_reply_queue", "reply queue '" + reply_to + "' does not exist"});
      self->send(st.queue, nack_atom::value, std::move(failed));
      next();
      continue;
    }
    self->request(*target, caf::infinite, send_atom::value, std::move(messages))
        .then(
            [self, done_receipts, next](std::vector<std::string>&) mutable {
              self->send(self->state.queue, ack_atom::value, std::move(done_receipts));
              next();
            },
            [self, done_receipts, next, reply_to](caf::error& err) {
              // The commands come back after their lease; the replies, sent again under the
              // same dedup ids, are not doubled.
              spdlog::warn("saga participant on '{}': sending replies to '{}' failed: {}",
                           self->state.options.queue, reply_to, message_of(err));
              std::vector<nack_request> failed;
              for (const auto& r : done_receipts)
                failed.push_back({r, -1, {}, "sending the reply failed: " + message_of(err)});
              self->send(self->state.queue, nack_atom::value, std::move(failed));
              next();
            });
  }
  next();
}

caf::behavior participant(caf::stateful_actor<participant_state>* self, participant_options options,
                          participant_fn handler, caf::actor queue,
                          std::shared_ptr<const registry> entities, clock_ptr clock) {
  auto& st = self->state;
  st.options = std::move(options);
  st.handler = std::move(handler);
  st.queue = std::move(queue);
  st.entities = std::move(entities);
  st.clock = std::move(clock);
  self->set_error_handler([self](caf::error& err) {
    spdlog::warn("saga participant on '{}': settling commands failed: {}",
                 self->state.options.queue, message_of(err));
  });
  self->send(self, poll_atom::value);
  return {
      [self](poll_atom) {
        auto& st = self->state;
        self->request(st.queue, caf::infinite, receive_atom::value,
                      receive_request{st.options.prefetch, poll_wait_ms, -1})
            .then(
                [self](std::vector<delivery>& batch) {
                  if (batch.empty())
                    self->send(self, poll_atom::value);
                  else
                    handle(self, batch);
                },
                [self](caf::error& err) {
                  spdlog::warn("saga participant on '{}': receive failed: {}",
                               self->state.options.queue, message_of(err));
                  self->state.clock->send_after(1'000, caf::actor_cast<caf::actor>(self),
                                                poll_atom::value);
                });
      },
      [](const std::vector<ack_outcome>&) {},
  };
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
  auto actor = n.system().spawn(participant, std::move(options), std::move(handler), *q,
                                n.entities(), n.config().clock);
  n.stop_on_shutdown(actor);
  return actor;
}

} // namespace mailroom
