// Lets an actor commit a write_batch and continue in its own context once it is durable.
//
// The journal runs callbacks on its sync thread; actor state must not be touched there. So the
// callback only sends (committed_atom, ticket, error) to the actor, whose handler calls
// journal_writer::committed(), which runs the continuation stored under that ticket.
// One journal_writer per actor; used only from that actor's handlers.
#pragma once

#include "journal.hpp"

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/actor_cast.hpp>
#include <caf/atom.hpp>
#include <caf/send.hpp>
#include <caf/typed_response_promise.hpp>

#include <functional>
#include <unordered_map>

namespace mailroom {

using committed_atom = caf::atom_constant<caf::atom("committed")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;

class journal_writer {
public:
  using continuation = std::function<void(const caf::error&)>;

  /// When a commit's continuation runs: once the batch is durable (fdatasync'ed), or once it
  /// is applied (in the database and the WAL file: it survives the process being killed, not
  /// the machine losing power; nothing later is durable without it).
  enum class until : bool { durable, applied };

  /// `self` is the owning actor's address: a weak reference, so that the writer, which lives
  /// in the actor's state, does not keep its own actor alive.
  journal_writer(journal& j, caf::actor_addr self) : journal_(j), self_(std::move(self)) {}

  /// Commits `writes`, then runs `then` in the actor. An empty batch continues at once.
  void commit(write_batch writes, continuation then, until when = until::durable) {
    if (when == until::durable)
      commit_in_steps(std::move(writes), {}, std::move(then));
    else
      commit_in_steps(std::move(writes), std::move(then), {});
  }

  /// Commits `writes`, then runs `applied` in the actor once they are applied and `durable`
  /// once they are durable, in that order; either may be empty. If the commit fails, both
  /// learn it; if only the fdatasync fails, `applied` succeeded and `durable` learns it.
  void commit_in_steps(write_batch writes, continuation applied, continuation durable) {
    if (writes.empty()) {
      if (applied)
        applied({});
      if (durable)
        durable({});
      return;
    }
    journal_.submit(std::move(writes), answer_with(std::move(durable)),
                    applied ? answer_with(std::move(applied)) : journal::callback{});
  }

  /// Call from the actor's (committed_atom, uint64_t, caf::error) handler.
  void committed(uint64_t ticket, const caf::error& err) {
    auto it = waiting_.find(ticket);
    if (it == waiting_.end())
      return;
    auto then = std::move(it->second);
    waiting_.erase(it);
    then(err);
  }

  /// Commits `writes`, then answers `promise` with `value` (or the commit's error) and runs
  /// `after` in the actor either way.
  template <class T>
  void reply_after_commit(write_batch writes, caf::typed_response_promise<T> promise, T value,
                          std::function<void()> after = {}, until when = until::durable) {
    commit(
        std::move(writes),
        [promise, value = std::move(value),
         after = std::move(after)](const caf::error& err) mutable {
          if (err)
            promise.deliver(err);
          else
            promise.deliver(std::move(value));
          if (after)
            after();
        },
        when);
  }

private:
  /// A journal callback that runs `then` (if any) in the actor, through committed().
  journal::callback answer_with(continuation then) {
    if (!then)
      return [](const caf::error&) {};
    auto ticket = next_ticket_++;
    waiting_.emplace(ticket, std::move(then));
    return [self = caf::actor_cast<caf::actor>(self_), ticket](const caf::error& err) {
      caf::anon_send(self, committed_atom::value, ticket, err);
    };
  }

  journal& journal_;
  caf::actor_addr self_;
  uint64_t next_ticket_ = 1;
  std::unordered_map<uint64_t, continuation> waiting_;
};

} // namespace mailroom
