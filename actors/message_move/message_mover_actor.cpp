#include "message_move/message_mover_actor.hpp"

#include "mailroom/error.hpp"
#include "mailroom/ids.hpp"
#include "mailroom/protocol.hpp"
#include "journal_writer.hpp" // tick_atom

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <map>

namespace mailroom {

namespace {

/// Messages one step leases when the task is not rate-limited.
constexpr uint32_t unlimited_chunk = 100;
/// The lease a step holds while it redrives a chunk: ample for two durable commits.
constexpr int64_t chunk_lease_ms = 60'000;
/// Tasks a source keeps listed, newest first (SQS lists the ten most recent).
constexpr size_t kept_per_source = 10;

struct mover_state {
  message_mover_deps deps;
  /// Per source queue, its tasks newest first; only the front one may be running.
  std::map<std::string, std::deque<message_move_status>> tasks;
  static inline const char* name = "message_mover";
};

using self_ptr = caf::stateful_actor<mover_state>*;

message_move_status* find(self_ptr self, const std::string& handle) {
  for (auto& [source, list] : self->state.tasks)
    for (auto& t : list)
      if (t.handle == handle)
        return &t;
  return nullptr;
}

void finish(message_move_status& t, const char* status, std::string failure = {}) {
  t.status = status;
  t.failure = std::move(failure);
  spdlog::info("message move {} from '{}': {} after {} of {} message(s){}{}", t.handle,
               t.request.source, t.status, t.moved, t.to_move, t.failure.empty() ? "" : ": ",
               t.failure);
}

void step(self_ptr self, const std::string& handle);

void next_step(self_ptr self, const message_move_status& t) {
  auto me = caf::actor_cast<caf::actor>(self);
  if (t.request.rate_per_s > 0) // one chunk of `rate` per second
    self->state.deps.clock->send_after(1'000, me, tick_atom::value, t.handle);
  else
    self->send(me, tick_atom::value, t.handle);
}

/// Gives leased messages back to the source at once (a step that cannot move them).
void release(const caf::actor& source, const std::vector<std::string>& receipts) {
  for (const auto& r : receipts)
    caf::anon_send(source, visibility_atom::value, r, int64_t{0});
}

void release(const caf::actor& source, const std::vector<delivery>& got) {
  for (const auto& d : got)
    caf::anon_send(source, visibility_atom::value, d.receipt, int64_t{0});
}

/// Why a new task on `source` must wait: one still running there.
caf::error busy(self_ptr self, const std::string& source) {
  auto& list = self->state.tasks[source];
  if (list.empty() || (list.front().status != "RUNNING" && list.front().status != "CANCELLING"))
    return {};
  return make_error(errc::already_exists, "queue '" + source +
                                              "' already has a message move task running (" +
                                              list.front().handle + ")");
}

/// One destination's part of a chunk has settled: `moved` of it left the source, or `err`
/// stopped it. The task takes its next step once every part has.
void chunk_done(self_ptr self, const std::string& handle,
                const std::shared_ptr<size_t>& outstanding, uint64_t moved, const caf::error& err) {
  auto* t = find(self, handle);
  if (t == nullptr)
    return;
  t->moved += moved;
  if (err && (t->status == "RUNNING" || t->status == "CANCELLING"))
    finish(*t, "FAILED", message_of(err));
  if (--*outstanding == 0)
    next_step(self, *t); // a step of a task no longer RUNNING or CANCELLING does nothing
}

/// Redrives `got` into the destinations, then acks it in `source`.
void move_chunk(self_ptr self, const std::string& handle, const caf::actor& source,
                std::vector<delivery> got) {
  auto* t = find(self, handle);
  std::map<std::string, std::pair<std::vector<envelope>, std::vector<std::string>>> by_target;
  for (const auto& d : got) {
    auto target = t->request.destination;
    if (target.empty() && !d.message->history.empty())
      target = d.message->history.back().source;
    if (target.empty()) {
      release(source, got);
      finish(*t, "FAILED",
             "message " + d.message->id + " never died in a queue: name a destination");
      return;
    }
    auto& [messages, receipts] = by_target[target];
    messages.push_back(*d.message);
    receipts.push_back(d.receipt);
  }
  std::vector<std::pair<caf::actor, decltype(by_target)::mapped_type>> sends;
  for (auto& [target, batch] : by_target) {
    auto queue = self->state.deps.entities->find(entity_kind::queue, target);
    if (!queue) {
      release(source, got);
      finish(*t, "FAILED", "the destination queue '" + target + "' does not exist");
      return;
    }
    sends.emplace_back(*queue, std::move(batch));
  }
  auto outstanding = std::make_shared<size_t>(sends.size());
  for (auto& [queue, batch] : sends) {
    auto receipts = std::move(batch.second);
    self->request(queue, caf::infinite, redrive_atom::value, std::move(batch.first))
        .then(
            [self, handle, source, receipts, outstanding](const std::vector<std::string>&) {
              // Durable in the destination: now they may leave the source. Counted as moved
              // only if the ack finds the lease still held (a lease that ran out first lets
              // the message be moved again by a later chunk: twice, never lost).
              self->request(source, caf::infinite, ack_atom::value, receipts)
                  .then(
                      [self, handle, outstanding](const std::vector<ack_outcome>& acked) {
                        chunk_done(
                            self, handle, outstanding,
                            std::count_if(acked.begin(), acked.end(),
                                          [](const auto& a) { return a.error_code.empty(); }),
                            {});
                      },
                      [self, handle, outstanding](caf::error& err) {
                        chunk_done(self, handle, outstanding, 0, err);
                      });
            },
            [self, handle, source, receipts, outstanding](caf::error& err) {
              release(source, receipts);
              chunk_done(self, handle, outstanding, 0, err);
            });
  }
}

void step(self_ptr self, const std::string& handle) {
  auto* t = find(self, handle);
  if (t == nullptr)
    return;
  if (t->status == "CANCELLING") {
    finish(*t, "CANCELLED");
    return;
  }
  if (t->status != "RUNNING")
    return;
  if (t->moved >= t->to_move) {
    finish(*t, "COMPLETED");
    return;
  }
  auto source = self->state.deps.entities->find(entity_kind::queue, t->request.source);
  if (!source) {
    finish(*t, "FAILED", "the source queue '" + t->request.source + "' no longer exists");
    return;
  }
  auto chunk = t->request.rate_per_s > 0 ? t->request.rate_per_s : unlimited_chunk;
  chunk = static_cast<uint32_t>(std::min<uint64_t>(chunk, t->to_move - t->moved));
  receive_request lease{chunk, 0, chunk_lease_ms, false};
  self->request(*source, caf::infinite, receive_atom::value, lease)
      .then(
          [self, handle, source = *source](std::vector<delivery>& got) {
            auto* t = find(self, handle);
            if (t == nullptr) {
              release(source, got);
              return;
            }
            if (got.empty()) { // the rest went elsewhere (consumed, purged, expired)
              finish(*t, t->status == "CANCELLING" ? "CANCELLED" : "COMPLETED");
              return;
            }
            if (t->status == "CANCELLING") {
              release(source, got);
              finish(*t, "CANCELLED");
              return;
            }
            move_chunk(self, handle, source, std::move(got));
          },
          [self, handle](caf::error& err) {
            if (auto* t = find(self, handle))
              finish(*t, "FAILED", message_of(err));
          });
}

caf::behavior message_mover(self_ptr self, message_mover_deps deps) {
  self->state.deps = std::move(deps);
  return {
      [self](redrive_atom, message_move_request& request) -> caf::result<message_move_status> {
        if (auto err = busy(self, request.source))
          return err;
        auto source = self->state.deps.entities->find(entity_kind::queue, request.source);
        if (!source)
          return make_error(errc::unknown_queue, "no queue named '" + request.source + "'");
        auto promise = self->make_response_promise<message_move_status>();
        self->request(*source, caf::infinite, stats_atom::value)
            .then(
                [self, promise, request](const queue_stats& stats) mutable {
                  // Checked again: another start may have come in while this one asked.
                  if (auto err = busy(self, request.source)) {
                    promise.deliver(err);
                    return;
                  }
                  message_move_status t;
                  t.handle = new_message_id();
                  t.request = request;
                  t.status = "RUNNING";
                  t.to_move = stats.visible;
                  t.started_at_ms = self->state.deps.clock->now_ms();
                  auto& list = self->state.tasks[request.source];
                  list.push_front(t);
                  if (list.size() > kept_per_source)
                    list.pop_back();
                  spdlog::info("message move {} from '{}' to {}: {} message(s)", t.handle,
                               request.source,
                               request.destination.empty() ? "their source queues"
                                                           : "'" + request.destination + "'",
                               t.to_move);
                  step(self, t.handle);
                  promise.deliver(t);
                },
                [promise](caf::error& err) mutable { promise.deliver(err); });
        return promise;
      },
      [self](list_atom, const std::string& source) -> std::vector<message_move_status> {
        auto it = self->state.tasks.find(source);
        if (it == self->state.tasks.end())
          return {};
        return {it->second.begin(), it->second.end()};
      },
      [self](cancel_atom, const std::string& handle) -> caf::result<message_move_status> {
        auto* t = find(self, handle);
        if (t == nullptr)
          return make_error(errc::not_found, "no message move task " + handle);
        if (t->status != "RUNNING")
          return make_error(errc::invalid_argument,
                            "message move task " + handle + " is " + t->status + ", not RUNNING");
        t->status = "CANCELLING"; // the step in flight finishes its chunk, then stops
        return *t;
      },
      [self](tick_atom, const std::string& handle) { step(self, handle); },
  };
}

} // namespace

caf::actor spawn_message_mover(caf::actor_system& system, message_mover_deps deps) {
  return system.spawn(message_mover, std::move(deps));
}

} // namespace mailroom
