#include "topic/topic_actor.hpp"

#include "codec.hpp"
#include "journal_writer.hpp"
#include "mailroom/error.hpp"
#include "mailroom/ids.hpp"
#include "mailroom/protocol.hpp"
#include "staging.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <spdlog/spdlog.h>

#include <map>
#include <optional>

namespace mailroom {

namespace {

/// One publish on its way: the copies staged in each subscriber queue so far.
struct publication {
  caf::typed_response_promise<publish_result> promise;
  topic_state::plan plan;
  publish_result result;
  /// Per batch of the plan: the queue that staged it and its answer, or why it could not.
  std::vector<caf::actor> queues;
  std::vector<std::optional<staged_send>> staged;
  std::vector<caf::error> failures;
  size_t waiting = 0;
  uint64_t publication_ids[topic_state::form_count] = {}; ///< per form with copies; 0: none
};

using publication_ptr = std::shared_ptr<publication>;

} // namespace

struct topic_actor_state {
  std::unique_ptr<topic_state> topic;
  std::unique_ptr<journal_writer> writer;
  topic_actor_deps deps;
  topic_stats counters;
  static inline const char* name = "topic";
};

namespace {

using self_ptr = caf::stateful_actor<topic_actor_state>*;

void abort_staged(const publication& p) {
  for (size_t i = 0; i < p.staged.size(); ++i)
    if (p.staged[i])
      caf::anon_send(p.queues[i], abort_atom::value, p.staged[i]->token);
}

/// Where the copies a queue could not take go: dead letters per sink (journaled with the
/// publish) and per dead-letter queue (redriven there before it commits).
struct undeliverable {
  std::map<std::string, std::vector<dead_letter>> by_sink;
  std::map<std::string, std::vector<envelope>> by_queue;
};

/// Copies a queue could not take become dead letters of the subscription's sink or queue, when
/// it has one; otherwise the publish fails with the queue's error.
caf::expected<undeliverable> dead_letters_for_failures(self_ptr self, publication& p) {
  auto& topic = *self->state.topic;
  undeliverable out;
  auto now_ms = self->state.deps.clock->now_ms();
  for (size_t i = 0; i < p.failures.size(); ++i) {
    if (!p.failures[i])
      continue;
    const auto& sub = p.plan.batches[i].target;
    auto failed = [&](std::string why) {
      return make_error(code_of(p.failures[i]),
                        "topic '" + topic.name() + "': subscription '" + sub.queue + "': " + why);
    };
    bool to_queue = !sub.dead_letter_queue.empty();
    if (sub.dead_letter_target.empty() && !to_queue)
      return failed(message_of(p.failures[i]));
    auto kind = to_queue ? entity_kind::queue : entity_kind::dead_letter_sink;
    const auto& target = to_queue ? sub.dead_letter_queue : sub.dead_letter_target;
    if (!self->state.deps.entities->find(kind, target))
      return failed(message_of(p.failures[i]) + ", and its dead-letter " +
                    (to_queue ? "queue '" : "sink '") + target + "' does not exist");
    for (auto& m : p.plan.batches[i].messages) {
      dead_letter d;
      d.message.id = new_message_id();
      d.message.queue = sub.queue;
      d.message.body = std::move(m.body);
      d.message.attributes = std::move(m.attributes);
      d.message.dedup_id = std::move(m.dedup_id);
      d.message.causation_id = std::move(m.causation_id);
      d.message.correlation_id = std::move(m.correlation_id);
      d.message.group_id = std::move(m.group_id); // a FIFO dead-letter queue keeps the groups
      d.message.sent_at_us = m.sent_at_us;
      d.death.reason = "undeliverable";
      d.death.error = message_of(p.failures[i]);
      d.death.source = sub.queue;
      d.death.first_failure_ms = d.death.last_failure_ms = d.death.dead_at_ms = now_ms;
      if (to_queue)
        out.by_queue[target].push_back(for_dead_letter_queue(std::move(d)));
      else
        out.by_sink[target].push_back(std::move(d));
    }
    p.result.dead_lettered += p.plan.batches[i].messages.size();
  }
  return out;
}

void commit_staged(self_ptr self, const publication_ptr& p,
                   std::map<std::string, std::vector<dead_letter>> dead);

/// Every queue answered: hands what a dead-letter queue takes to it first (durable there, or
/// the publish fails), then commits the staged copies and the sinks' dead letters together.
/// A crash between the two leaves the dead-lettered copies and an unconfirmed publish: a
/// retry dead-letters them again, at least once, never lost.
void commit_publication(self_ptr self, const publication_ptr& p) {
  auto dead = dead_letters_for_failures(self, *p);
  if (!dead) {
    abort_staged(*p);
    p->promise.deliver(dead.error());
    return;
  }
  if (dead->by_queue.empty()) {
    commit_staged(self, p, std::move(dead->by_sink));
    return;
  }
  auto outstanding = std::make_shared<size_t>(dead->by_queue.size());
  auto failure = std::make_shared<caf::error>();
  auto sinks =
      std::make_shared<std::map<std::string, std::vector<dead_letter>>>(std::move(dead->by_sink));
  auto answered = [self, p, outstanding, failure, sinks] {
    if (--*outstanding > 0)
      return;
    if (*failure) {
      abort_staged(*p);
      p->promise.deliver(*failure);
      return;
    }
    commit_staged(self, p, std::move(*sinks));
  };
  for (auto& [queue, messages] : dead->by_queue) {
    auto actor = self->state.deps.entities->find(entity_kind::queue, queue);
    if (!actor) { // deleted since it was looked up
      *failure = make_error(errc::unknown_queue, "topic '" + self->state.topic->name() +
                                                     "': no dead-letter queue '" + queue + "'");
      answered();
      continue;
    }
    self->request(*actor, caf::infinite, redrive_atom::value, std::move(messages))
        .then([answered](const std::vector<std::string>&) { answered(); },
              [answered, failure](caf::error& err) {
                *failure = std::move(err);
                answered();
              });
  }
}

/// Commits all staged copies and the sinks' dead letters in one transaction.
void commit_staged(self_ptr self, const publication_ptr& p,
                   std::map<std::string, std::vector<dead_letter>> dead) {
  // What the copies of each form share, once, ahead of the segments that name it.
  bool used[topic_state::form_count] = {};
  for (size_t i = 0; i < p->staged.size(); ++i)
    used[p->plan.batches[i].body_form()] |= p->staged[i].has_value();
  write_batch writes;
  for (int f = 0; f < topic_state::form_count; ++f)
    if (used[f])
      writes.put_publication(p->publication_ids[f], codec::encode_publication(p->plan.shared[f]));
  for (auto& s : p->staged)
    if (s) {
      p->result.deliveries += s->ids.size();
      writes.append(std::move(s->writes));
    }
  for (int f = 0; f < topic_state::form_count; ++f)
    if (used[f]) // every copy of that form was a duplicate: no segment names it
      writes.delete_unused_publication(p->publication_ids[f]);
  for (const auto& [sink, records] : dead)
    for (const auto& r : records)
      writes.put_dead_letter(sink, r.message.id, codec::encode_dead_letter(r));
  if (self->state.deps.trace) {
    auto now = self->state.deps.clock->now_ms();
    std::vector<codec::trace_event> steps;
    for (const auto& id : p->result.ids)
      steps.push_back({{id,
                        self->state.topic->name(),
                        "published",
                        now,
                        0,
                        "to " + std::to_string(p->plan.batches.size()) + " subscription(s)",
                        {},
                        {}}});
    writes.append_trace(now, codec::encode_trace(steps));
  }
  self->state.writer->commit(
      std::move(writes), [self, p, dead = std::move(dead)](const caf::error& err) mutable {
        if (err) {
          abort_staged(*p);
          p->promise.deliver(err);
          return;
        }
        for (size_t i = 0; i < p->staged.size(); ++i)
          if (p->staged[i])
            self->send(p->queues[i], finish_atom::value, p->staged[i]->token);
        for (auto& [sink, records] : dead)
          if (auto actor = self->state.deps.entities->find(entity_kind::dead_letter_sink, sink))
            self->send(*actor, adopt_atom::value, std::move(records));
        auto& c = self->state.counters;
        c.published += p->result.ids.size();
        c.deliveries += p->result.deliveries;
        c.unmatched += p->result.unmatched;
        c.dead_lettered += p->result.dead_lettered;
        p->promise.deliver(std::move(p->result));
      });
}

void on_staged(self_ptr self, const publication_ptr& p) {
  if (--p->waiting == 0)
    commit_publication(self, p);
}

caf::result<publish_result> publish(self_ptr self, std::vector<outgoing_message> batch,
                                    const aws_scope& scope) {
  auto& st = self->state;
  if (batch.empty())
    return make_error(errc::invalid_argument, "topic '" + st.topic->name() + "': empty publish");
  auto p = std::make_shared<publication>();
  p->promise = self->make_response_promise<publish_result>();
  p->plan = st.topic->route(std::move(batch), st.deps.clock->now_ms(), scope);
  p->result.ids = p->plan.ids;
  p->result.unmatched = p->plan.unmatched;
  for (int f = 0; f < topic_state::form_count; ++f)
    if (!p->plan.shared[f].empty())
      p->publication_ids[f] = st.deps.log->new_publication_id();
  auto n = p->plan.batches.size();
  p->queues.resize(n);
  p->staged.resize(n);
  p->failures.resize(n);
  p->waiting = n + 1; // +1 until every request is out, so no answer completes it early
  for (size_t i = 0; i < n; ++i) {
    auto& copies = p->plan.batches[i];
    const auto& queue = copies.target.queue;
    auto actor = st.deps.entities->find(entity_kind::queue, queue);
    if (!actor) {
      p->failures[i] = make_error(errc::unknown_queue, "no queue named '" + queue + "'");
      --p->waiting;
      continue;
    }
    p->queues[i] = *actor;
    // With a sink or dead-letter queue, the copies stay in the plan until the queue answers:
    // if it refuses them they become dead letters. Without one they can move.
    copies_to_stage request{{}, {p->publication_ids[copies.body_form()], copies.shared}};
    bool keep =
        !copies.target.dead_letter_target.empty() || !copies.target.dead_letter_queue.empty();
    request.messages = keep ? copies.messages : std::move(copies.messages);
    self->request(*actor, caf::infinite, stage_atom::value, std::move(request))
        .then(
            [self, p, i](staged_send& s) {
              p->staged[i] = std::move(s);
              on_staged(self, p);
            },
            [self, p, i](caf::error& err) {
              p->failures[i] = std::move(err);
              on_staged(self, p);
            });
  }
  auto promise = p->promise;
  on_staged(self, p);
  return promise;
}

caf::behavior topic_actor(caf::stateful_actor<topic_actor_state>* self, topic_state state,
                          topic_actor_deps deps) {
  auto& st = self->state;
  st.topic = std::make_unique<topic_state>(std::move(state));
  st.writer = std::make_unique<journal_writer>(*deps.log, self->address());
  st.deps = std::move(deps);
  st.counters.name = st.topic->name();
  return {
      [self](publish_atom, std::vector<outgoing_message>& batch) -> caf::result<publish_result> {
        return publish(self, std::move(batch), {aws_default_region, self->state.deps.aws_account});
      },
      [self](publish_atom, std::vector<outgoing_message>& batch, const aws_scope& scope)
          -> caf::result<publish_result> { return publish(self, std::move(batch), scope); },
      [self](stats_atom) -> topic_stats {
        auto stats = self->state.counters;
        stats.subscriptions = self->state.topic->config().subscriptions.size();
        return stats;
      },
      [self](config_atom, topic_config& config) -> caf::result<ok_atom> {
        auto next = topic_state::make(std::move(config));
        if (!next)
          return std::move(next.error());
        *self->state.topic = std::move(*next);
        return ok_atom::value;
      },
      [self](committed_atom, uint64_t ticket, const caf::error& err) {
        self->state.writer->committed(ticket, err);
      },
  };
}

} // namespace

caf::actor spawn_topic(caf::actor_system& system, topic_state state, topic_actor_deps deps) {
  return system.spawn(topic_actor, std::move(state), std::move(deps));
}

} // namespace mailroom
