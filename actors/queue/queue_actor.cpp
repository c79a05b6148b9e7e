#include "queue/queue_actor.hpp"

#include "journal_writer.hpp"
#include "staging.hpp"
#include "mailroom/error.hpp"
#include "mailroom/protocol.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <limits>
#include <functional>
#include <list>
#include <unordered_map>

namespace mailroom {

namespace {

/// Longest long poll (SQS: 20 s).
constexpr int64_t max_wait_ms = 20'000;
/// Largest receive batch. SQS allows 10; we allow more because batches are what make us fast.
constexpr uint32_t max_receive_batch = 10'000;
/// Retry delay when the dead-letter sink cannot take a message.
constexpr int64_t sink_retry_ms = 1'000;

using deliveries_promise = caf::typed_response_promise<std::vector<delivery>>;

struct waiter {
  deliveries_promise promise;
  receive_request request;
  int64_t deadline_ms;
};

} // namespace

struct queue_actor_state {
  std::unique_ptr<queue_state> queue;
  std::unique_ptr<journal_writer> writer;
  queue_actor_deps deps;
  std::list<waiter> waiters;                                 // long polls, oldest first
  int64_t armed_at_ms = std::numeric_limits<int64_t>::max(); // earliest tick in flight
  // Replies of sends whose duplicates name a send that is not committed yet (a topic's staged
  // copies), by the token they wait for; called with true once it committed, false if aborted.
  std::unordered_map<uint64_t, std::vector<std::function<void(bool)>>> after_send;
  static inline const char* name = "queue";
};

namespace {

using self_ptr = caf::stateful_actor<queue_actor_state>*;

int64_t now(self_ptr self) {
  return self->state.deps.clock->now_ms();
}

/// Hands dead messages to the sink; removes them here once the sink has them durably. `done`
/// (optional) learns whether the sink took them; if not, they are retried later.
void ship_dead(self_ptr self, std::vector<queue_state::outgoing_dead> dead,
               std::function<void(const caf::error&)> done = {}) {
  if (!done)
    done = [](const caf::error&) {};
  if (dead.empty()) {
    done({});
    return;
  }
  auto& st = self->state;
  std::vector<uint64_t> seqs;
  std::vector<dead_letter> records;
  for (auto& d : dead) {
    seqs.push_back(d.seq);
    records.push_back(std::move(d.record));
  }
  const auto& target = st.queue->config().dead_letter_target;
  auto sink = st.deps.entities->find(entity_kind::dead_letter_sink, target);
  if (!sink) {
    spdlog::warn("queue '{}': dead-letter sink '{}' not found; retrying in {} ms", st.queue->name(),
                 target, sink_retry_ms);
    st.queue->abort_dead_letters(seqs, now(self), sink_retry_ms);
    done(make_error(errc::not_found, "queue '" + st.queue->name() + "': dead-letter sink '" +
                                         target + "' not found"));
    return;
  }
  self->request(*sink, caf::infinite, dead_atom::value, std::move(records))
      .then(
          [self, seqs, done](ok_atom) {
            self->state.writer->commit(self->state.queue->finish_dead_letters(seqs),
                                       [](const caf::error&) {});
            done({});
          },
          [self, seqs, done](caf::error& err) {
            spdlog::warn("queue '{}': dead-letter sink refused: {}", self->state.queue->name(),
                         message_of(err));
            self->state.queue->abort_dead_letters(seqs, now(self), sink_retry_ms);
            done(err);
          });
}

void rearm(self_ptr self);

/// Leases messages for `request` and answers `promise` once the leases are durable.
void deliver(self_ptr self, const receive_request& request, deliveries_promise promise) {
  auto& st = self->state;
  auto out = st.queue->receive(request.max, request.visibility_ms, now(self));
  if (out.error) {
    spdlog::error("queue '{}': {}", st.queue->name(), message_of(out.error));
    if (out.deliveries.empty() && out.writes.empty()) {
      ship_dead(self, std::move(out.dead));
      promise.deliver(out.error);
      return;
    }
  }
  ship_dead(self, std::move(out.dead));
  rearm(self); // the leases just taken end on a timer: a consumer that dies must not keep them
  st.writer->commit(std::move(out.writes), [promise, deliveries = std::move(out.deliveries)](
                                               const caf::error& err) mutable {
    if (err)
      promise.deliver(err);
    else
      promise.deliver(std::move(deliveries));
  });
}

void serve_waiters(self_ptr self) {
  auto& st = self->state;
  while (!st.waiters.empty() && st.queue->has_ready()) {
    auto w = std::move(st.waiters.front());
    st.waiters.pop_front();
    deliver(self, w.request, std::move(w.promise));
  }
}

/// Makes sure a tick arrives by the earliest deadline of messages and long polls.
void rearm(self_ptr self) {
  auto& st = self->state;
  auto next = st.queue->next_deadline();
  for (const auto& w : st.waiters)
    next = next ? std::min(*next, w.deadline_ms) : w.deadline_ms;
  if (!next || *next >= st.armed_at_ms)
    return;
  st.armed_at_ms = *next;
  st.deps.clock->send_at(*next, caf::actor_cast<caf::actor>(self),
                         caf::make_message(tick_atom::value));
}

void on_tick(self_ptr self) {
  auto& st = self->state;
  st.armed_at_ms = std::numeric_limits<int64_t>::max();
  auto t = now(self);
  auto out = st.queue->advance(t);
  ship_dead(self, std::move(out.dead));
  st.writer->commit(std::move(out.writes), [](const caf::error&) {});
  serve_waiters(self);
  for (auto it = st.waiters.begin(); it != st.waiters.end();) {
    if (it->deadline_ms <= t) {
      it->promise.deliver(std::vector<delivery>{});
      it = st.waiters.erase(it);
    } else {
      ++it;
    }
  }
  rearm(self);
}

/// Answers with `value` once `writes` are durable, then serves long polls: whatever the
/// writes changed (a nack with no delay, a release) may have made messages ready.
template <class T>
caf::typed_response_promise<T> reply_when_durable(self_ptr self, write_batch writes, T value) {
  auto promise = self->make_response_promise<T>();
  self->state.writer->reply_when_durable(std::move(writes), promise, std::move(value), [self] {
    serve_waiters(self);
    rearm(self);
  });
  return promise;
}

/// A send (`token`) committed or was aborted: answer the duplicates that waited for it.
void settle_send(self_ptr self, uint64_t token, bool committed) {
  auto& waiting = self->state.after_send;
  auto it = waiting.find(token);
  if (it == waiting.end())
    return;
  auto callbacks = std::move(it->second);
  waiting.erase(it);
  for (auto& f : callbacks)
    f(committed);
}

/// Runs `then(true)` once every send in `tokens` committed, `then(false)` if one is aborted.
void after_sends(self_ptr self, const std::vector<uint64_t>& tokens,
                 std::function<void(bool)> then) {
  std::vector<uint64_t> open;
  for (auto t : tokens)
    if (self->state.queue->is_pending(t))
      open.push_back(t);
  if (open.empty()) {
    then(true);
    return;
  }
  auto remaining = std::make_shared<size_t>(open.size());
  auto decided = std::make_shared<bool>(false);
  for (auto t : open)
    self->state.after_send[t].push_back([remaining, decided, then](bool committed) {
      if (*decided)
        return;
      if (committed && --*remaining > 0)
        return;
      *decided = true;
      then(committed);
    });
}

/// The answer to a send of messages each on its own: an id or a refusal per message.
std::vector<send_result> per_message(std::vector<std::string> ids,
                                     const std::vector<std::pair<size_t, caf::error>>& refused) {
  std::vector<send_result> out(ids.size());
  for (size_t i = 0; i < ids.size(); ++i)
    out[i].id = std::move(ids[i]);
  for (const auto& [i, err] : refused) {
    out[i].error_code = std::string{to_string(code_of(err))};
    out[i].error_message = message_of(err);
  }
  return out;
}

/// Makes a send (or redrive) visible and answers, once its segment is durable, with
/// `answer(ids)`: the ids themselves, or per-message results.
template <class T = std::vector<std::string>, class Answer = std::identity>
caf::typed_response_promise<T> commit_enqueue(self_ptr self, queue_state::send_outcome out,
                                              Answer answer = {}) {
  auto promise = self->make_response_promise<T>();
  out.reservation.append(std::move(out.writes));
  self->state.writer->commit(
      std::move(out.reservation), [self, promise, token = out.token, ids = std::move(out.ids),
                                   waits_for = std::move(out.waits_for),
                                   answer = std::move(answer)](const caf::error& err) mutable {
        auto& st = self->state;
        if (err) {
          st.queue->abort_send(token);
          settle_send(self, token, false);
          promise.deliver(err);
          return;
        }
        st.queue->commit_send(token, now(self));
        settle_send(self, token, true);
        after_sends(
            self, waits_for,
            [self, promise, ids = std::move(ids), answer = std::move(answer)](bool ok) mutable {
              if (ok)
                promise.deliver(answer(std::move(ids)));
              else
                promise.deliver(make_error(errc::unavailable,
                                           "queue '" + self->state.queue->name() +
                                               "': the send this one duplicates was aborted; "
                                               "send it again"));
            });
        serve_waiters(self);
        rearm(self);
      });
  return promise;
}

} // namespace

caf::behavior queue_actor(caf::stateful_actor<queue_actor_state>* self, queue_state state,
                          queue_actor_deps deps) {
  auto& st = self->state;
  st.queue = std::make_unique<queue_state>(std::move(state));
  st.writer = std::make_unique<journal_writer>(*deps.log, self->address());
  st.deps = std::move(deps);
  // Recovered messages are all on timers: make the due ones ready before the first request.
  on_tick(self);
  return {
      [self](send_atom,
             std::vector<outgoing_message>& batch) -> caf::result<std::vector<std::string>> {
        auto out = self->state.queue->send(std::move(batch), now(self));
        if (!out)
          return std::move(out.error());
        return commit_enqueue(self, std::move(*out));
      },
      [self](send_each_atom,
             std::vector<outgoing_message>& batch) -> caf::result<std::vector<send_result>> {
        auto out =
            self->state.queue->send(std::move(batch), now(self), queue_state::batch_mode::each);
        if (!out)
          return std::move(out.error());
        auto refused = std::move(out->refused);
        return commit_enqueue<std::vector<send_result>>(
            self, std::move(*out), [refused = std::move(refused)](std::vector<std::string> ids) {
              return per_message(std::move(ids), refused);
            });
      },
      [self](redrive_atom, std::vector<envelope>& batch) -> caf::result<std::vector<std::string>> {
        auto out = self->state.queue->accept_redrive(std::move(batch), now(self));
        if (!out)
          return std::move(out.error());
        return commit_enqueue(self, std::move(*out));
      },
      [self](stage_atom, std::vector<outgoing_message>& batch) -> caf::result<staged_send> {
        auto out = self->state.queue->send(std::move(batch), now(self));
        if (!out)
          return std::move(out.error());
        // Committed on our own, ahead of the coordinator's batch: see send_outcome.
        self->state.writer->commit(std::move(out->reservation), [](const caf::error&) {});
        return staged_send{out->token, std::move(out->ids), std::move(out->writes)};
      },
      [self](finish_atom, uint64_t token) {
        self->state.queue->commit_send(token, now(self));
        settle_send(self, token, true);
        serve_waiters(self);
        rearm(self);
      },
      [self](abort_atom, uint64_t token) {
        self->state.queue->abort_send(token);
        settle_send(self, token, false);
      },
      [self](receive_atom, receive_request request) -> caf::result<std::vector<delivery>> {
        auto& st = self->state;
        auto bad = [&](std::string why) {
          return make_error(errc::invalid_argument, "queue '" + st.queue->name() + "': " + why);
        };
        if (request.max == 0 || request.max > max_receive_batch)
          return bad("receive max " + std::to_string(request.max) + " is outside 1.." +
                     std::to_string(max_receive_batch));
        if (request.wait_ms < 0 || request.wait_ms > max_wait_ms)
          return bad("wait " + std::to_string(request.wait_ms) + "ms is outside 0s..20s");
        if (request.visibility_ms > max_visibility_ms)
          return bad("visibility " + std::to_string(request.visibility_ms) +
                     "ms is longer than 12h");
        auto promise = self->make_response_promise<std::vector<delivery>>();
        if (st.queue->has_ready() || request.wait_ms == 0) {
          deliver(self, request, promise);
        } else {
          st.waiters.push_back({promise, request, now(self) + request.wait_ms});
          rearm(self);
        }
        return promise;
      },
      [self](ack_atom,
             const std::vector<std::string>& receipts) -> caf::result<std::vector<ack_outcome>> {
        auto out = self->state.queue->ack(receipts, now(self));
        return reply_when_durable(self, std::move(out.writes), std::move(out.results));
      },
      [self](nack_atom,
             const std::vector<nack_request>& requests) -> caf::result<std::vector<ack_outcome>> {
        auto out = self->state.queue->nack(requests, now(self));
        if (out.dead.empty())
          return reply_when_durable(self, std::move(out.writes), std::move(out.results));
        // A nack to the sink is confirmed once the sink has the message durably: a crash
        // before that must not leave the consumer believing it was dead-lettered.
        auto promise = self->make_response_promise<std::vector<ack_outcome>>();
        self->state.writer->commit(
            std::move(out.writes), [self, promise, results = std::move(out.results),
                                    dead = std::move(out.dead)](const caf::error& err) mutable {
              if (err) {
                promise.deliver(err);
                return;
              }
              ship_dead(self, std::move(dead),
                        [promise, results = std::move(results)](const caf::error& e) mutable {
                          if (e)
                            promise.deliver(e);
                          else
                            promise.deliver(std::move(results));
                        });
              serve_waiters(self);
              rearm(self);
            });
        return promise;
      },
      [self](visibility_atom, const std::string& receipt,
             int64_t visibility_ms) -> caf::result<ok_atom> {
        auto writes = self->state.queue->change_visibility(receipt, visibility_ms, now(self));
        if (!writes)
          return std::move(writes.error());
        return reply_when_durable(self, std::move(*writes), ok_atom::value);
      },
      [self](stats_atom) -> queue_stats { return self->state.queue->stats(now(self)); },
      [self](purge_atom) -> caf::result<uint64_t> {
        auto [purged, writes] = self->state.queue->purge();
        return reply_when_durable(self, std::move(writes), purged);
      },
      [self](config_atom, queue_config& config) -> caf::result<ok_atom> {
        if (auto err = validate(config))
          return err;
        self->state.queue->reconfigure(std::move(config));
        rearm(self);
        return ok_atom::value;
      },
      [self](committed_atom, uint64_t ticket, const caf::error& err) {
        self->state.writer->committed(ticket, err);
      },
      [self](tick_atom) { on_tick(self); },
  };
}

caf::actor spawn_queue(caf::actor_system& system, queue_state state, queue_actor_deps deps) {
  return system.spawn(queue_actor, std::move(state), std::move(deps));
}

} // namespace mailroom
