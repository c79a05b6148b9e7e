#include "saga/saga_instance_actor.hpp"

#include "saga/saga_protocol.hpp"
#include "codec.hpp"
#include "journal.hpp"
#include "journal_writer.hpp" // tick_atom
#include "mailroom/error.hpp"
#include "mailroom/saga_types.hpp" // saga_attribute
#include "staging.hpp"             // adopt_atom

#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <spdlog/spdlog.h>

namespace mailroom {

struct saga_instance_actor_state {
  std::unique_ptr<saga_state> saga;
  saga_instance_deps deps;
  caf::actor manager;
  /// The status the journal's row has; none: no row yet.
  std::optional<saga_status> journaled_status;
  static inline const char* name = "saga";
};

namespace {

using self_ptr = caf::stateful_actor<saga_instance_actor_state>*;

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

/// Journals what `fx` changed and has the journal answer request `request` once that is durable.
/// Every answer goes through the journal, even one with nothing to write: so they reach the
/// manager in the order the inputs came, whatever commit is still in flight.
void report(self_ptr self, uint64_t request, caf::expected<saga_state::effects> outcome) {
  auto& st = self->state;
  auto& saga = *st.saga;
  saga_progress progress;
  write_batch writes;
  std::optional<dead_letter> record;
  caf::error refused;
  if (!outcome) {
    refused = std::move(outcome.error());
  } else {
    auto& fx = *outcome;
    if (!fx.ignored.empty())
      spdlog::debug("saga {}: ignored {}", saga.id(), fx.ignored);
    progress.status = saga.status();
    progress.wake_at_ms = saga.wake_at();
    progress.step_latency_ms = fx.step_latency_ms;
    for (const auto& c : fx.sends)
      progress.compensations_sent += saga.instance().timeline[c.activity].compensation ? 1 : 0;
    if (fx.changed) {
      const auto& inst = saga.instance();
      using how = write_batch::saga_put;
      writes.put_saga(!st.journaled_status                  ? how::insert
                      : *st.journaled_status != inst.status ? how::update_status
                                                            : how::update,
                      inst.seq, inst.id, inst.definition, static_cast<uint8_t>(inst.status),
                      inst.updated_at_ms, codec::encode_saga_instance(inst));
      st.journaled_status = inst.status;
      if (fx.parked) {
        record = parked_record(saga, st.deps.clock->now_ms());
        writes.put_dead_letter(saga_dead_letter_sink(inst.definition), record->message.id,
                               codec::encode_dead_letter(*record));
      }
    }
    // The manager sends the commands once durable: it batches those of many instances.
    progress.commands = std::move(fx.sends);
  }
  std::optional<caf::actor> sink;
  std::string parked; // logged once it is durable
  if (record) {
    parked = "saga " + saga.id() + " PARKED: " + saga.instance().error + " (dead-letter record '" +
             record->message.id + "'; redrive it to resume)";
    sink = st.deps.entities->find(entity_kind::dead_letter_sink,
                                  saga_dead_letter_sink(saga.definition().name));
  }
  // Runs on the journal's sync thread: it only sends.
  st.deps.log->submit(
      std::move(writes),
      [manager = st.manager, request, refused = std::move(refused), progress = std::move(progress),
       record = std::move(record), sink = std::move(sink),
       parked = std::move(parked)](const caf::error& err) mutable {
        if (err) {
          // The journal fails stop: nothing this instance does can be made durable any more.
          progress.commands.clear();
          caf::anon_send(manager, progress_atom::value, request, err, std::move(progress));
          return;
        }
        if (record) {
          spdlog::warn("{}", parked);
          if (sink)
            caf::anon_send(*sink, adopt_atom::value, std::vector<dead_letter>{std::move(*record)});
        }
        caf::anon_send(manager, progress_atom::value, request, refused, std::move(progress));
      });
}

caf::behavior saga_instance_actor(caf::stateful_actor<saga_instance_actor_state>* self,
                                  saga_state state, saga_instance_deps deps, caf::actor manager,
                                  bool journaled) {
  auto& st = self->state;
  if (journaled)
    st.journaled_status = state.status();
  st.saga = std::make_unique<saga_state>(std::move(state));
  st.deps = std::move(deps);
  st.manager = std::move(manager);
  auto now = [self] { return self->state.deps.clock->now_ms(); };
  return {
      [self, now](begin_atom, uint64_t request) {
        report(self, request, self->state.saga->begin(now()));
      },
      [self, now](recover_atom, uint64_t request) {
        report(self, request, self->state.saga->recover(now()));
      },
      [self, now](reply_atom, const saga_reply& reply, uint64_t request) {
        report(self, request, self->state.saga->on_reply(reply, now()));
      },
      [self, now](tick_atom, uint64_t request) {
        report(self, request, self->state.saga->on_timer(now()));
      },
      [self, now](cancel_atom, uint64_t request) {
        report(self, request, self->state.saga->cancel(now()));
      },
      [self, now](resume_atom, uint64_t request) {
        report(self, request, self->state.saga->resume(now()));
      },
      [self](sent_atom, size_t activity, size_t attempt, const std::string& id) {
        self->state.saga->command_sent(activity, attempt, id);
      },
      [self, now](sent_atom, size_t activity, size_t attempt, const caf::error& err,
                  uint64_t request) {
        report(self, request,
               self->state.saga->send_failed(activity, attempt, message_of(err), now()));
      },
  };
}

} // namespace

caf::actor spawn_saga_instance(caf::event_based_actor* manager, saga_state state,
                               saga_instance_deps deps, bool journaled) {
  return manager->spawn(saga_instance_actor, std::move(state), std::move(deps), caf::actor{manager},
                        journaled);
}

} // namespace mailroom
