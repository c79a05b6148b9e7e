#include "queue/queue_actor.hpp"

#include "queue/message_bytes.hpp"
#include "journal_writer.hpp"
#include "staging.hpp"
#include "mailroom/error.hpp"
#include "mailroom/protocol.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <deque>
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
/// The node's memory has room again for sends held back (memory_budget::when_room).
using room_atom = caf::atom_constant<caf::atom("room")>;

struct waiter {
  deliveries_promise promise;
  receive_request request;
  int64_t deadline_ms;
};

/// A send waiting for the node's memory to have room: `run({})` takes it, `run(error)` refuses.
struct held_send {
  size_t bytes;
  std::function<void(const caf::error&)> run;
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
  std::deque<held_send> held; // oldest first: taken in the order they came
  size_t held_bytes = 0;
  size_t charged = 0; // what this queue last charged to the memory budget
  bool waiting_for_room = false;
  static inline const char* name = "queue";

  ~queue_actor_state() {
    if (deps.memory) {
      deps.memory->charge(-static_cast<int64_t>(charged));
      deps.memory->hold(-static_cast<int64_t>(held.size()), -static_cast<int64_t>(held_bytes));
    }
  }
};

namespace {

using self_ptr = caf::stateful_actor<queue_actor_state>*;

int64_t now(self_ptr self) {
  return self->state.deps.clock->now_ms();
}

/// Charges the node's memory budget with what the queue holds now. While the node's memory is
/// short, the queue's body cache shrinks first: cached bodies can always be read back.
void account(self_ptr self) {
  auto& st = self->state;
  if (!st.deps.memory)
    return;
  st.queue->squeeze_cache(st.deps.memory->over_soft_limit());
  auto holds = st.queue->memory_bytes();
  st.deps.memory->charge(static_cast<int64_t>(holds) - static_cast<int64_t>(st.charged));
  st.charged = holds;
}

/// Put first in a handler: charges the budget with whatever the handler changed.
struct accounted {
  self_ptr self;
  ~accounted() { account(self); }
};

void release_held(self_ptr self);

/// Asks the budget for a room_atom once there is room for the sends held back.
void wait_for_room(self_ptr self) {
  auto& st = self->state;
  if (st.waiting_for_room)
    return;
  st.waiting_for_room = true;
  st.deps.memory->when_room([addr = self->address()] {
    if (auto me = caf::actor_cast<caf::actor>(addr))
      caf::anon_send(me, room_atom::value);
  });
}

/// Who sends: a producer may be held; a consumer, whose sends must be answered before it can
/// ack what it consumed (the acks that free memory), only refused at the limit.
enum class sender : bool { producer, consumer };

/// Runs `run(promise)` for a send of `bytes` now, or, while the node's memory is above its soft
/// limit (or earlier sends wait), once there is room, in order; refuses it at the limit.
template <class T, class Run>
caf::result<T> admit(self_ptr self, size_t bytes, Run run, sender from = sender::producer) {
  auto& st = self->state;
  auto* budget = st.deps.memory.get();
  auto short_of_memory = budget != nullptr && budget->over_soft_limit();
  auto hold = from == sender::producer && (short_of_memory || !st.held.empty());
  if (short_of_memory || hold)
    if (auto err = budget->refusal(bytes, "queue '" + st.queue->name() + "'"))
      return err; // before the promise is made: making it takes the request's answer over
  auto promise = self->make_response_promise<T>();
  if (!hold) {
    run(promise);
    return promise;
  }
  st.held.push_back({bytes, [run = std::move(run), promise](const caf::error& err) mutable {
                       if (err)
                         promise.deliver(err);
                       else
                         run(promise);
                     }});
  st.held_bytes += bytes;
  budget->hold(1, static_cast<int64_t>(bytes));
  wait_for_room(self);
  return promise;
}

void release_held(self_ptr self) {
  auto& st = self->state;
  while (!st.held.empty() && !st.deps.memory->over_soft_limit()) {
    auto next = std::move(st.held.front());
    st.held.pop_front();
    st.held_bytes -= next.bytes;
    st.deps.memory->hold(-1, -static_cast<int64_t>(next.bytes));
    next.run({});
    account(self); // the next one sees what this one took
  }
  if (!st.held.empty())
    wait_for_room(self);
}

/// Hands dead messages to the sink or dead-letter queue; removes them here once it has them
/// durably. `done`
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
  auto taken = [self, seqs, done] {
    self->state.writer->commit(self->state.queue->finish_dead_letters(seqs),
                               [](const caf::error&) {});
    done({});
  };
  auto refused = [self, seqs, done](const caf::error& err) {
    spdlog::warn("queue '{}': {} refused its dead letters: {}", self->state.queue->name(),
                 self->state.queue->config().dead_letter_destination(), message_of(err));
    self->state.queue->abort_dead_letters(seqs, now(self), sink_retry_ms);
    done(err);
  };
  const auto& config = st.queue->config();
  auto kind = config.dead_letter_queue.empty() ? entity_kind::dead_letter_sink : entity_kind::queue;
  auto target =
      st.deps.entities->find(kind, config.dead_letter_queue.empty() ? config.dead_letter_target
                                                                    : config.dead_letter_queue);
  if (!target) {
    refused(make_error(errc::not_found, config.dead_letter_destination() + " not found"));
    return;
  }
  if (kind == entity_kind::dead_letter_sink) {
    self->request(*target, caf::infinite, dead_atom::value, std::move(records))
        .then([taken](ok_atom) { taken(); }, [refused](caf::error& err) { refused(err); });
    return;
  }
  // A dead-letter queue takes them as a redrive does (same ids), each with its death record
  // as the last of its history: where it died and why stay with it.
  std::vector<envelope> messages;
  messages.reserve(records.size());
  for (auto& r : records)
    messages.push_back(for_dead_letter_queue(std::move(r)));
  self->request(*target, caf::infinite, redrive_atom::value, std::move(messages))
      .then([taken](const std::vector<std::string>&) { taken(); },
            [refused](caf::error& err) { refused(err); });
}

void rearm(self_ptr self);

/// Leases messages for `request` and answers `promise`: once the leases are durable, or at
/// once if the request does not need them first (see receive_request::lease_durable_first).
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
  if (!request.lease_durable_first) {
    // Journaled behind the send it delivers and ahead of any ack of it. If the commit fails
    // (the journal stops, or a full disk rolls it back), the lease is lost: the message comes
    // back with the receive count it had, as after a crash.
    st.writer->commit(std::move(out.writes), [](const caf::error&) {});
    promise.deliver(std::move(out.deliveries));
    return;
  }
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

/// Answers with `value` once `writes` are durable (or only applied, see journal_writer::until),
/// then serves long polls: whatever the writes changed (a nack with no delay, a release) may have
/// made messages ready.
template <class T>
caf::typed_response_promise<T>
reply_after_commit(self_ptr self, write_batch writes, T value,
                   journal_writer::until when = journal_writer::until::durable) {
  auto promise = self->make_response_promise<T>();
  self->state.writer->reply_after_commit(
      std::move(writes), promise, std::move(value),
      [self] {
        serve_waiters(self);
        rearm(self);
      },
      when);
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

/// Makes a send (or redrive) visible once its segment is applied (in the WAL: it survives the
/// process, and a consumer's ack of it is journaled after it), and answers `promise` once the
/// segment is durable, with `answer(ids)`: the ids themselves, or per-message results. A
/// consumer may so see a message its producer is not yet told about; if the machine loses power
/// in between, the producer, never confirmed, sends it again (at least once).
template <class T, class Answer = std::identity>
void commit_enqueue(self_ptr self, queue_state::send_outcome out,
                    caf::typed_response_promise<T> promise, Answer answer = {}) {
  out.reservation.append(std::move(out.writes));
  // A commit that fails reaches both steps with its error: the applied step takes the send
  // back, the durable step answers.
  auto applied = [self, token = out.token](const caf::error& err) {
    auto& st = self->state;
    if (err) {
      st.queue->abort_send(token);
      settle_send(self, token, false);
      return;
    }
    st.queue->commit_send(token, now(self));
    settle_send(self, token, true);
    serve_waiters(self);
    rearm(self);
  };
  auto durable = [self, promise, ids = std::move(out.ids), waits_for = std::move(out.waits_for),
                  answer = std::move(answer)](const caf::error& err) mutable {
    if (err) {
      promise.deliver(err); // not applied, or applied but its fdatasync failed
      return;
    }
    after_sends(self, waits_for,
                [self, promise, ids = std::move(ids), answer = std::move(answer)](bool ok) mutable {
                  if (ok)
                    promise.deliver(answer(std::move(ids)));
                  else
                    promise.deliver(make_error(errc::unavailable,
                                               "queue '" + self->state.queue->name() +
                                                   "': the send this one duplicates was aborted; "
                                                   "send it again"));
                });
  };
  self->state.writer->commit_in_steps(std::move(out.reservation), std::move(applied),
                                      std::move(durable));
}

/// A send-like request: `send(now)` enqueues, giving a send_outcome or a refusal.
template <class T, class Send, class Answer = std::identity>
caf::result<T> admit_enqueue(self_ptr self, size_t bytes, Send send, Answer answer = {},
                             sender from = sender::producer) {
  return admit<T>(
      self, bytes,
      [self, send = std::move(send),
       answer = std::move(answer)](caf::typed_response_promise<T> promise) mutable {
        auto out = send(now(self));
        if (!out)
          promise.deliver(std::move(out.error()));
        else
          commit_enqueue(self, std::move(*out), promise, std::move(answer));
      },
      from);
}

/// A send of `batch`, all or none, answered with its ids once durable.
caf::result<std::vector<std::string>>
send_all_or_none(self_ptr self, std::vector<outgoing_message> batch, sender from) {
  auto bytes = message_bytes(batch);
  return admit_enqueue<std::vector<std::string>>(
      self, bytes,
      [self, batch = std::move(batch)](int64_t at) mutable {
        return self->state.queue->send(std::move(batch), at);
      },
      std::identity{}, from);
}

/// Stages `batch` (see staging.hpp): held pending, its writes for the coordinator to commit.
caf::expected<staged_send> stage(self_ptr self, std::vector<outgoing_message> batch,
                                 const publication_ref& shared = {}) {
  auto& queue = *self->state.queue;
  auto out = queue.send(std::move(batch), now(self), queue_state::batch_mode::all_or_none, shared);
  if (!out)
    return std::move(out.error());
  // Committed on our own, ahead of the coordinator's batch: see send_outcome.
  self->state.writer->commit(std::move(out->reservation), [](const caf::error&) {});
  if (!out->waits_for.empty()) {
    // A duplicate of a send not committed yet: if that one aborts, this one was never sent.
    // The coordinator cannot wait inside its own commit, so it retries once that one settled.
    queue.abort_send(out->token);
    return make_error(errc::unavailable, "queue '" + queue.name() +
                                             "': a message duplicates one whose send is not "
                                             "committed yet; send it again");
  }
  return staged_send{out->token, std::move(out->ids), std::move(out->writes)};
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
  account(self);
  // Deleted or shut down: a send waiting for room gets an answer, not silence.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    if (!msg.reason)
      return; // as CAF's default handler: a normal exit of a linked actor is no reason to stop
    auto& st = self->state;
    auto stopped =
        make_error(errc::unavailable, "queue '" + st.queue->name() +
                                          "' stopped (deleted, or the node is shutting down)");
    for (auto& h : st.held)
      h.run(stopped);
    if (st.deps.memory)
      st.deps.memory->hold(-static_cast<int64_t>(st.held.size()),
                           -static_cast<int64_t>(st.held_bytes));
    st.held.clear();
    st.held_bytes = 0;
    self->quit(msg.reason);
  });
  return {
      [self](send_atom,
             std::vector<outgoing_message>& batch) -> caf::result<std::vector<std::string>> {
        accounted guard{self};
        return send_all_or_none(self, std::move(batch), sender::producer);
      },
      [self](consumer_send_atom,
             std::vector<outgoing_message>& batch) -> caf::result<std::vector<std::string>> {
        accounted guard{self};
        return send_all_or_none(self, std::move(batch), sender::consumer);
      },
      [self](send_each_atom,
             std::vector<outgoing_message>& batch) -> caf::result<std::vector<send_result>> {
        accounted guard{self};
        auto bytes = message_bytes(batch);
        auto refused = std::make_shared<std::vector<std::pair<size_t, caf::error>>>();
        return admit_enqueue<std::vector<send_result>>(
            self, bytes,
            [self, batch = std::move(batch), refused](int64_t at) mutable {
              auto out =
                  self->state.queue->send(std::move(batch), at, queue_state::batch_mode::each);
              if (out)
                *refused = std::move(out->refused);
              return out;
            },
            [refused](std::vector<std::string> ids) {
              return per_message(std::move(ids), *refused);
            });
      },
      [self](redrive_atom, std::vector<envelope>& batch) -> caf::result<std::vector<std::string>> {
        accounted guard{self};
        auto bytes = message_bytes(batch);
        return admit_enqueue<std::vector<std::string>>(
            self, bytes, [self, batch = std::move(batch)](int64_t at) mutable {
              return self->state.queue->accept_redrive(std::move(batch), at);
            });
      },
      [self](stage_atom, copies_to_stage& copies) -> caf::result<staged_send> {
        accounted guard{self};
        auto bytes = message_bytes(copies.messages);
        return admit<staged_send>(self, bytes,
                                  [self, copies = std::move(copies)](
                                      caf::typed_response_promise<staged_send> promise) mutable {
                                    auto staged =
                                        stage(self, std::move(copies.messages), copies.publication);
                                    if (staged)
                                      promise.deliver(std::move(*staged));
                                    else
                                      promise.deliver(std::move(staged.error()));
                                  });
      },
      [self](stage_atom, parts_to_stage& request) -> caf::result<staged_parts> {
        accounted guard{self};
        size_t bytes = 0;
        for (const auto& part : request.parts)
          bytes += message_bytes(part);
        return admit<staged_parts>(
            self, bytes,
            [self, parts = std::move(request.parts)](
                caf::typed_response_promise<staged_parts> promise) mutable {
              staged_parts out;
              for (auto& part : parts) {
                auto staged = stage(self, std::move(part));
                out.errors.push_back(staged ? caf::error{} : std::move(staged.error()));
                out.parts.push_back(staged ? std::move(*staged) : staged_send{});
              }
              promise.deliver(std::move(out));
            },
            sender::consumer); // a transactional service's sends, before it acks
      },
      [self](finish_atom, uint64_t token) {
        accounted guard{self};
        self->state.queue->commit_send(token, now(self));
        settle_send(self, token, true);
        serve_waiters(self);
        rearm(self);
      },
      [self](abort_atom, uint64_t token) {
        accounted guard{self};
        self->state.queue->abort_send(token);
        settle_send(self, token, false);
      },
      [self](receive_atom, receive_request request) -> caf::result<std::vector<delivery>> {
        accounted guard{self};
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
        accounted guard{self};
        auto out = self->state.queue->ack(receipts, now(self));
        // Answered once applied, not durable: an ack lost with the machine's power brings its
        // message back (at least once), and a consumer waiting on an fdatasync per batch adds
        // that wait to every message's latency (docs/benchmarks.md, "latency budget").
        return reply_after_commit(self, std::move(out.writes), std::move(out.results),
                                  journal_writer::until::applied);
      },
      [self](nack_atom,
             const std::vector<nack_request>& requests) -> caf::result<std::vector<ack_outcome>> {
        accounted guard{self};
        auto out = self->state.queue->nack(requests, now(self));
        if (out.dead.empty()) // as an ack: losing it only delivers the message again
          return reply_after_commit(self, std::move(out.writes), std::move(out.results),
                                    journal_writer::until::applied);
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
        accounted guard{self};
        auto writes = self->state.queue->change_visibility(receipt, visibility_ms, now(self));
        if (!writes)
          return std::move(writes.error());
        return reply_after_commit(self, std::move(*writes), ok_atom::value);
      },
      [self](stats_atom) -> queue_stats { return self->state.queue->stats(now(self)); },
      [self](purge_atom) -> caf::result<uint64_t> {
        accounted guard{self};
        auto [purged, writes] = self->state.queue->purge();
        return reply_after_commit(self, std::move(writes), purged);
      },
      [self](config_atom, queue_config& config) -> caf::result<ok_atom> {
        if (auto err = validate(config))
          return err;
        self->state.queue->reconfigure(std::move(config));
        rearm(self);
        return ok_atom::value;
      },
      [self](committed_atom, uint64_t ticket, const caf::error& err) {
        accounted guard{self};
        self->state.writer->committed(ticket, err);
      },
      [self](tick_atom) {
        accounted guard{self};
        on_tick(self);
      },
      [self](room_atom) {
        accounted guard{self};
        self->state.waiting_for_room = false;
        release_held(self);
      },
  };
}

caf::actor spawn_queue(caf::actor_system& system, queue_state state, queue_actor_deps deps) {
  return system.spawn(queue_actor, std::move(state), std::move(deps));
}

} // namespace mailroom
