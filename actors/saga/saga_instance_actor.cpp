#include "actors/saga/saga_instance_actor.hpp"

#include "actors/saga/saga_protocol.hpp"
#include "codec.hpp"
#include "journal_writer.hpp"
#include "mailroom/error.hpp"
#include "mailroom/saga.hpp"
#include "staging.hpp" // adopt_atom

#include <caf/stateful_actor.hpp>
#include <spdlog/spdlog.h>

namespace mailroom {

struct saga_instance_actor_state {
  std::unique_ptr<saga_state> saga;
  saga_instance_deps deps;
  caf::actor_addr manager;
  std::unique_ptr<journal_writer> writer;
  /// The status the journal's row has; none: no row yet.
  std::optional<saga_status> journaled_status;
  static inline const char* name = "saga";
};

namespace {

using self_ptr = caf::stateful_actor<saga_instance_actor_state>*;
using done_fn = std::function<void(const caf::error&, const saga_progress&)>;

void apply(self_ptr self, saga_state::effects fx, done_fn done);

/// The parked compensation as a dead-letter record: redriving it (to the saga's inbox, its
/// source) resumes the saga.
dead_letter parked_record(saga_state& saga, int64_t now) {
  const auto& inst = saga.instance();
  const auto& activity = inst.timeline.back();
  const auto& step = saga.definition().steps[activity.step];
  const auto* last = saga.parked_attempt();
  dead_letter d;
  d.message.id = inst.id + "/" + step.name + "/undo/" + std::to_string(last->number);
  d.message.queue = saga_inbox(inst.definition);
  d.message.body = "saga " + inst.id + " parked: " + inst.error;
  d.message.attributes = {{std::string{saga_attribute::id}, inst.id},
                          {std::string{saga_attribute::step}, step.name},
                          {std::string{saga_attribute::action}, "resume"}};
  d.message.causation_id = last->command_id;
  d.message.correlation_id = inst.id;
  d.message.sent_at_us = now * 1000;
  d.message.enqueued_at_ms = now;
  d.death.reason = "compensation_failed";
  d.death.error = last->error;
  d.death.source = d.message.queue;
  d.death.receive_count = static_cast<uint32_t>(activity.attempts.size());
  d.death.first_failure_ms = activity.attempts.front().ended_at_ms;
  d.death.last_failure_ms = last->ended_at_ms;
  d.death.dead_at_ms = now;
  return d;
}

void apply(self_ptr self, saga_state::effects fx, done_fn done) {
  auto& st = self->state;
  auto& saga = *st.saga;
  if (!fx.ignored.empty())
    spdlog::debug("saga {}: ignored {}", saga.id(), fx.ignored);
  saga_progress progress;
  progress.status = saga.status();
  progress.wake_at_ms = saga.wake_at();
  progress.step_latency_ms = fx.step_latency_ms;
  const auto& inst = saga.instance();
  for (const auto& c : fx.sends)
    progress.compensations_sent += inst.timeline[c.activity].compensation ? 1 : 0;
  if (!fx.changed) {
    done({}, progress);
    return;
  }
  write_batch writes;
  using how = write_batch::saga_put;
  writes.put_saga(!st.journaled_status                  ? how::insert
                  : *st.journaled_status != inst.status ? how::update_status
                                                        : how::update,
                  inst.seq, inst.id, inst.definition, static_cast<uint8_t>(inst.status),
                  inst.updated_at_ms, codec::encode_saga_instance(inst));
  st.journaled_status = inst.status;
  std::optional<dead_letter> record;
  if (fx.parked) {
    record = parked_record(saga, st.deps.clock());
    writes.put_dead_letter(saga_dead_letter_sink(inst.definition), record->message.id,
                           codec::encode_dead_letter(*record));
  }
  st.writer->commit(std::move(writes), [self, progress, done = std::move(done),
                                        sends = std::move(fx.sends),
                                        record = std::move(record)](const caf::error& err) mutable {
    if (err) {
      // The journal fails stop: nothing more this instance does can be made durable.
      done(err, progress);
      self->quit(err);
      return;
    }
    auto& st = self->state;
    if (record) {
      spdlog::warn("saga {} PARKED: {} (dead-letter record '{}'; redrive it to resume)",
                   st.saga->id(), st.saga->instance().error, record->message.id);
      auto sink = saga_dead_letter_sink(st.saga->definition().name);
      if (auto actor = st.deps.entities->find(entity_kind::dead_letter_sink, sink))
        self->send(*actor, adopt_atom::value, std::vector<dead_letter>{std::move(*record)});
    }
    // The manager sends the commands: it batches those of many instances per queue.
    progress.commands = std::move(sends);
    done({}, progress);
    if (finished(progress.status))
      self->quit();
  });
}

/// Runs `fx` for a request from the manager and answers it once durable.
caf::result<saga_progress> answer(self_ptr self, saga_state::effects fx) {
  auto promise = self->make_response_promise<saga_progress>();
  apply(self, std::move(fx), [promise](const caf::error& err, const saga_progress& p) mutable {
    if (err)
      promise.deliver(err);
    else
      promise.deliver(p);
  });
  return promise;
}

caf::behavior saga_instance_actor(caf::stateful_actor<saga_instance_actor_state>* self,
                                  saga_state state, saga_instance_deps deps,
                                  caf::actor_addr manager, bool journaled) {
  auto& st = self->state;
  if (journaled)
    st.journaled_status = state.status();
  st.saga = std::make_unique<saga_state>(std::move(state));
  st.writer = std::make_unique<journal_writer>(*deps.log, self->address());
  st.deps = std::move(deps);
  st.manager = std::move(manager);
  return {
      [self](begin_atom) {
        return answer(self, self->state.saga->begin(self->state.deps.clock()));
      },
      [self](recover_atom) {
        return answer(self, self->state.saga->recover(self->state.deps.clock()));
      },
      [self](reply_atom, const saga_reply& reply) {
        return answer(self, self->state.saga->on_reply(reply, self->state.deps.clock()));
      },
      [self](tick_atom) {
        return answer(self, self->state.saga->on_timer(self->state.deps.clock()));
      },
      [self](cancel_atom) -> caf::result<saga_progress> {
        auto fx = self->state.saga->cancel(self->state.deps.clock());
        if (!fx)
          return std::move(fx.error());
        return answer(self, std::move(*fx));
      },
      [self](resume_atom) -> caf::result<saga_progress> {
        auto fx = self->state.saga->resume(self->state.deps.clock());
        if (!fx)
          return std::move(fx.error());
        return answer(self, std::move(*fx));
      },
      [self](sent_atom, size_t activity, size_t attempt, const std::string& id) {
        self->state.saga->command_sent(activity, attempt, id);
      },
      [self](sent_atom, size_t activity, size_t attempt, const caf::error& err) {
        auto& st = *self->state.saga;
        return answer(self,
                      st.send_failed(activity, attempt, message_of(err), self->state.deps.clock()));
      },
      [self](committed_atom, uint64_t ticket, const caf::error& err) {
        self->state.writer->committed(ticket, err);
      },
  };
}

} // namespace

caf::actor spawn_saga_instance(caf::event_based_actor* manager, saga_state state,
                               saga_instance_deps deps, bool journaled) {
  return manager->spawn(saga_instance_actor, std::move(state), std::move(deps), manager->address(),
                        journaled);
}

} // namespace mailroom
