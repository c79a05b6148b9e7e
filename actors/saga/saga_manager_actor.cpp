#include "saga/saga_manager_actor.hpp"

#include "saga/saga_book.hpp"
#include "saga/saga_instance_actor.hpp"
#include "consumer/queue_consumer.hpp"
#include "saga/saga_protocol.hpp"
#include "journal_writer.hpp" // tick_atom
#include "mailroom/error.hpp"
#include "mailroom/protocol.hpp"

#include <caf/stateful_actor.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <limits>
#include <map>
#include <unordered_map>
#include <unordered_set>

namespace mailroom {

namespace {

using consumer::poll_atom;
using flush_atom = caf::atom_constant<caf::atom("flush")>;

/// Replies taken from the inbox per receive.
constexpr uint32_t inbox_batch = 512;
struct instance_entry {
  caf::actor actor;
  saga_status status = saga_status::running;
  bool journaled = true; ///< false until a new instance's first row is durable
  bool keyed = false;    ///< started with an idempotency key
  /// Inputs sent to it whose reports are still to come: a finished instance stops only once
  /// they are in (a stopped one would leave them unanswered).
  uint32_t outstanding = 0;
  /// Starts with the same idempotency key that arrived before that: answered with it.
  std::vector<std::function<void(const caf::error&)>> waiting_starts;
};

} // namespace

struct saga_manager_state {
  std::string definition;
  std::map<uint32_t, std::shared_ptr<const saga_definition>> versions;
  saga_manager_deps deps;
  consumer::source inbox;
  std::unordered_map<std::string, instance_entry> instances;
  saga_book book;                                            // timers, memory, metrics
  int64_t armed_at_ms = std::numeric_limits<int64_t>::max(); // earliest tick in flight
  /// Commands of instances' transitions, by queue, sent at the next flush: a flush message goes
  /// to the back of the mailbox, so every progress already queued adds its commands first.
  struct pending_command {
    std::string id; ///< the saga's
    caf::actor instance;
    size_t activity = 0;
    size_t attempt = 0;
    std::string message_id; ///< the one the command was sent with
  };
  std::map<std::string, std::pair<std::vector<outgoing_message>, std::vector<pending_command>>>
      outbox;
  bool flush_scheduled = false;
  /// Requests to instances not answered yet: whose they are and what runs after.
  struct waiting_report {
    std::string id;
    std::function<void(const caf::error&)> then;
  };
  std::unordered_map<uint64_t, waiting_report> reports;
  uint64_t next_request = 1;
  static inline const char* name = "saga-manager";
};

namespace {

using self_ptr = caf::stateful_actor<saga_manager_state>*;

void set_status(saga_manager_state& st, instance_entry& e, saga_status s) {
  st.book.moved(e.status, s);
  e.status = s;
}

void send_commands(self_ptr self, const std::string& queue_name,
                   std::vector<outgoing_message> messages,
                   std::vector<saga_manager_state::pending_command> owners);

/// Takes in what an instance reports after a transition.
/// Makes sure a tick arrives by the earliest instance timer (a step timeout or retry).
void arm(self_ptr self) {
  auto& st = self->state;
  auto next = st.book.next_wake();
  if (!next || *next >= st.armed_at_ms)
    return;
  st.armed_at_ms = *next;
  st.deps.clock->send_at(st.armed_at_ms, caf::actor_cast<caf::actor>(self),
                         caf::make_message(tick_atom::value));
}

void update(self_ptr self, const std::string& id, saga_progress& p) {
  auto& st = self->state;
  auto it = st.instances.find(id);
  if (it == st.instances.end() || finished(it->second.status))
    return; // after its end an instance changes nothing
  for (auto& c : p.commands) {
    auto& [messages, owners] = st.outbox[c.queue];
    owners.push_back({id, it->second.actor, c.activity, c.attempt, c.message.id});
    messages.push_back(std::move(c.message));
  }
  if (!p.commands.empty() && !st.flush_scheduled) {
    st.flush_scheduled = true;
    self->send(self, flush_atom::value);
  }
  if (p.step_latency_ms >= 0)
    st.book.step_replied(p.step_latency_ms);
  st.book.compensations_sent(p.compensations_sent);
  set_status(st, it->second, p.status);
  st.book.cancel_wake(id);
  if (finished(p.status)) {
    // Progress arrives once the transition is durable: starts waiting on it may be answered.
    for (auto& waiting : std::exchange(it->second.waiting_starts, {}))
      waiting({});
    if (it->second.keyed)
      st.book.finished_with_key(id, st.deps.clock->now_ms());
    return; // retire_if_done() stops it
  }
  if (p.wake_at_ms != 0) {
    st.book.wake_at(id, p.wake_at_ms);
    arm(self);
  }
}

/// Sends an instance an input; its report (progress_atom) is taken in by update() and then
/// `then` runs, with the error. `id` is a copy: the message may move the reply that holds the
/// caller's.
template <class... Ts>
void ask_instance(self_ptr self, std::string id, std::function<void(const caf::error&)> then,
                  Ts&&... xs) {
  auto& st = self->state;
  auto it = st.instances.find(id);
  if (it == st.instances.end()) {
    then(make_error(errc::not_found, "no running saga '" + id + "'"));
    return;
  }
  auto request = st.next_request++;
  ++it->second.outstanding;
  self->send(it->second.actor, std::forward<Ts>(xs)..., request);
  st.reports.emplace(request, saga_manager_state::waiting_report{std::move(id), std::move(then)});
}

/// Stops and forgets a finished instance once every input sent to it has been reported on.
void retire_if_done(self_ptr self, const std::string& id) {
  auto& st = self->state;
  auto it = st.instances.find(id);
  if (it == st.instances.end() || !finished(it->second.status) || it->second.outstanding > 0)
    return;
  self->send_exit(it->second.actor, caf::exit_reason::normal);
  st.instances.erase(it);
}

/// An instance's report on request `request`, once what it did is durable.
void take_report(self_ptr self, uint64_t request, const caf::error& err, saga_progress& p) {
  auto& st = self->state;
  auto it = st.reports.find(request);
  if (it == st.reports.end())
    return;
  auto waiting = std::move(it->second);
  st.reports.erase(it);
  if (auto inst = st.instances.find(waiting.id); inst != st.instances.end())
    --inst->second.outstanding;
  if (!err)
    update(self, waiting.id, p);
  waiting.then(err);
  retire_if_done(self, waiting.id);
}

/// Tells each instance what became of its command: a refusal always; an id only when the queue
/// answered another than the command was sent with (it knew the command's dedup id already).
void settle_command(self_ptr self, const saga_manager_state::pending_command& o,
                    const std::string& id, const caf::error& err) {
  if (err) {
    ask_instance(
        self, o.id, [](const caf::error&) {}, sent_atom::value, o.activity, o.attempt, err);
    return;
  }
  if (id != o.message_id)
    self->send(o.instance, sent_atom::value, o.activity, o.attempt, id);
}

/// Sends a queue's commands as one batch whose messages are accepted or refused each on its own:
/// one bad command (too large for its queue, a full queue) fails only its own step.
void send_commands(self_ptr self, const std::string& queue_name,
                   std::vector<outgoing_message> messages,
                   std::vector<saga_manager_state::pending_command> owners) {
  auto queue = self->state.deps.entities->find(entity_kind::queue, queue_name);
  if (!queue) {
    auto err = make_error(errc::unknown_queue, "no queue named '" + queue_name + "'");
    for (const auto& o : owners)
      settle_command(self, o, {}, err);
    return;
  }
  self->request(*queue, caf::infinite, send_each_atom::value, std::move(messages))
      .then(
          [self, owners](std::vector<send_result>& results) {
            for (size_t i = 0; i < owners.size(); ++i) {
              const auto& r = results[i];
              settle_command(
                  self, owners[i], r.id,
                  r.error_code.empty()
                      ? caf::error{}
                      : make_error(errc_from_string(r.error_code).value_or(errc::unavailable),
                                   r.error_message));
            }
          },
          [self, owners](caf::error& err) {
            for (const auto& o : owners)
              settle_command(self, o, {}, err);
          });
}

void flush(self_ptr self) {
  auto& st = self->state;
  st.flush_scheduled = false;
  auto outbox = std::move(st.outbox);
  st.outbox.clear();
  for (auto& [queue, entry] : outbox)
    send_commands(self, queue, std::move(entry.first), std::move(entry.second));
}

void adopt_instance(self_ptr self, saga_state state, bool journaled) {
  auto id = state.id();
  auto status = state.status();
  auto keyed = !state.idempotency_key().empty();
  auto& st = self->state;
  auto actor = spawn_saga_instance(self, std::move(state),
                                   {st.deps.log, st.deps.entities, st.deps.clock}, journaled);
  auto& entry = st.instances[id];
  entry.actor = actor;
  entry.keyed = keyed;
  st.book.moved(std::nullopt, status);
  entry.status = status;
}

/// Creates an instance and has it send its first command; `done` runs once it is journaled.
void begin_instance(self_ptr self, const std::string& id, nlohmann::json data,
                    const std::string& key, std::function<void(const caf::error&)> done) {
  auto& st = self->state;
  if (auto existing = st.instances.find(id); existing != st.instances.end()) {
    // The same idempotency key: the same instance, confirmed once it is durable.
    if (existing->second.journaled)
      done({});
    else
      existing->second.waiting_starts.push_back(std::move(done));
    return;
  }
  if (st.book.finished_recently(id)) {
    done({});
    return;
  }
  auto definition = st.versions.rbegin()->second;
  adopt_instance(self,
                 saga_state{definition, id, ++*st.deps.last_seq, std::move(data), key,
                            st.deps.clock->now_ms()},
                 false);
  st.book.started();
  st.instances[id].journaled = false;
  ask_instance(
      self, id,
      [self, id, done = std::move(done)](const caf::error& err) {
        done(err);
        auto it = self->state.instances.find(id);
        if (it == self->state.instances.end())
          return; // finished already: its waiters were answered by update()
        it->second.journaled = true;
        for (auto& waiting : std::exchange(it->second.waiting_starts, {}))
          waiting(err);
      },
      begin_atom::value);
}

caf::result<std::string> start(self_ptr self, const std::string& id, nlohmann::json data,
                               const std::string& key) {
  auto promise = self->make_response_promise<std::string>();
  begin_instance(self, id, std::move(data), key, [promise, id](const caf::error& err) mutable {
    if (err)
      promise.deliver(err);
    else
      promise.deliver(id);
  });
  return promise;
}

/// Starts many instances (no idempotency keys); answers once all are journaled.
caf::result<std::vector<std::string>> start_many(self_ptr self, std::vector<std::string> ids,
                                                 std::vector<nlohmann::json> data) {
  if (ids.size() != data.size())
    return make_error(errc::invalid_argument, "saga start: ids and data differ in length");
  auto promise = self->make_response_promise<std::vector<std::string>>();
  auto waiting = std::make_shared<size_t>(ids.size());
  auto failed = std::make_shared<caf::error>();
  auto result = std::make_shared<std::vector<std::string>>(ids);
  if (ids.empty())
    promise.deliver(std::vector<std::string>{});
  for (size_t i = 0; i < ids.size(); ++i)
    begin_instance(self, ids[i], std::move(data[i]), {},
                   [promise, waiting, failed, result](const caf::error& err) mutable {
                     if (err && !*failed)
                       *failed = err;
                     if (--*waiting > 0)
                       return;
                     if (*failed)
                       promise.deliver(*failed);
                     else
                       promise.deliver(std::move(*result));
                   });
  return promise;
}

void consume(self_ptr self, std::vector<delivery>& batch) {
  auto settle = consumer::settle_batch(self, self->state.inbox.queue, batch.size());
  for (auto& d : batch) {
    auto reply = read_saga_reply(*d.message);
    if (!reply) {
      nack_request n;
      n.receipt = d.receipt;
      n.dead_letter_reason = "not_a_saga_reply";
      n.error = "message '" + d.message->id + "' lacks the saga attributes of a reply";
      settle->nack(std::move(n));
      continue;
    }
    if (!self->state.instances.count(reply->saga_id)) {
      spdlog::debug("saga {}: a reply after it finished (or for no saga): dropped", reply->saga_id);
      settle->ack(d.receipt);
      continue;
    }
    auto done = [receipt = d.receipt, settle, id = reply->saga_id,
                 resume = reply->resume](const caf::error& err) {
      if (err && !resume) {
        // Not durable: leave it to come back after its lease.
        spdlog::warn("saga {}: handling a reply failed: {}", id, message_of(err));
        settle->leave();
      } else {
        if (err)
          spdlog::warn("saga {}: not resumed: {}", id, message_of(err));
        else if (resume)
          spdlog::info("saga {}: resumed by a redriven dead-letter record", id);
        settle->ack(receipt);
      }
    };
    if (reply->resume)
      ask_instance(self, reply->saga_id, done, resume_atom::value);
    else
      ask_instance(self, reply->saga_id, done, reply_atom::value, std::move(*reply));
  }
}

void poll(self_ptr self) {
  consumer::poll(self, self->state.inbox, [self](std::vector<delivery>& batch) {
    consume(self, batch);
    // The next receive goes out at once: replies of many sagas overlap their commits.
    self->send(self, poll_atom::value);
  });
}

void wake_due(self_ptr self) {
  auto& st = self->state;
  for (auto& id : st.book.due(st.deps.clock->now_ms())) {
    if (!st.instances.count(id))
      continue; // defensive: a finished instance's timer is cancelled with its last report
    ask_instance(
        self, id,
        [id](const caf::error& err) {
          if (err)
            spdlog::warn("saga {}: its timer failed: {}", id, message_of(err));
        },
        tick_atom::value);
  }
}

caf::behavior saga_manager(caf::stateful_actor<saga_manager_state>* self,
                           std::vector<saga_definition> versions,
                           std::vector<saga_instance> unfinished, saga_manager_deps deps) {
  auto& st = self->state;
  st.definition = versions.front().name;
  for (auto& d : versions)
    st.versions[d.version] = std::make_shared<const saga_definition>(std::move(d));
  st.deps = std::move(deps);
  // Acks and nacks of the inbox are sent without waiting; a refusal (an expired lease) only
  // means the message comes back, and the instance ignores what it has seen.
  st.inbox = {"saga '" + st.definition + "' inbox",
              *st.deps.entities->find(entity_kind::queue, saga_inbox(st.definition)), inbox_batch,
              -1, st.deps.clock};
  // The instances stop with their manager (node shutdown, definition removed).
  self->set_exit_handler([self](caf::exit_msg& msg) {
    for (auto& [id, e] : self->state.instances)
      self->send_exit(e.actor, msg.reason);
    self->quit(msg.reason);
  });
  for (auto& inst : unfinished) {
    auto id = inst.id;
    auto version = st.versions.find(inst.version);
    adopt_instance(self, saga_state{version->second, std::move(inst)}, true);
    ask_instance(
        self, id,
        [id](const caf::error& err) {
          if (err)
            spdlog::error("saga {}: resuming after restart failed: {}", id, message_of(err));
        },
        recover_atom::value);
  }
  if (!unfinished.empty())
    spdlog::info("saga '{}': resumed {} unfinished instance(s)", st.definition, unfinished.size());
  self->send(self, poll_atom::value);
  arm(self);
  return {
      [self](start_atom, const std::string& id, nlohmann::json& data, const std::string& key) {
        return start(self, id, std::move(data), key);
      },
      [self](start_atom, std::vector<std::string>& ids, std::vector<nlohmann::json>& data) {
        return start_many(self, std::move(ids), std::move(data));
      },
      [self](cancel_atom, const std::string& id) -> caf::result<ok_atom> {
        auto promise = self->make_response_promise<ok_atom>();
        ask_instance(
            self, id,
            [promise](const caf::error& err) mutable {
              if (err)
                promise.deliver(err);
              else
                promise.deliver(ok_atom::value);
            },
            cancel_atom::value);
        return promise;
      },
      [self](stats_atom) { return self->state.book.metrics(); },
      [self](config_atom, saga_definition& d) {
        auto version = d.version;
        self->state.versions[version] = std::make_shared<const saga_definition>(std::move(d));
        return ok_atom::value;
      },
      [self](progress_atom, uint64_t request, const caf::error& err, saga_progress& p) {
        take_report(self, request, err, p);
      },
      [self](flush_atom) { flush(self); },
      [self](poll_atom) { poll(self); },
      [self](tick_atom) {
        self->state.armed_at_ms = std::numeric_limits<int64_t>::max();
        wake_due(self);
        arm(self);
      },
      consumer::settled,
  };
}

} // namespace

caf::actor spawn_saga_manager(caf::actor_system& system, std::vector<saga_definition> versions,
                              std::vector<saga_instance> unfinished, saga_manager_deps deps) {
  return system.spawn(saga_manager, std::move(versions), std::move(unfinished), std::move(deps));
}

} // namespace mailroom
