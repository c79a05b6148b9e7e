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

  /// `self` is the owning actor's address: a weak reference, so that the writer, which lives
  /// in the actor's state, does not keep its own actor alive.
  journal_writer(journal& j, caf::actor_addr self) : journal_(j), self_(std::move(self)) {}

  /// Commits `writes`, then runs `then` in the actor. An empty batch continues at once.
  void commit(write_batch writes, continuation then) {
    if (writes.empty()) {
      then({});
      return;
    }
    auto ticket = next_ticket_++;
    waiting_.emplace(ticket, std::move(then));
    journal_.submit(std::move(writes),
                    [self = caf::actor_cast<caf::actor>(self_), ticket](const caf::error& err) {
                      caf::anon_send(self, committed_atom::value, ticket, err);
                    });
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
  void reply_when_durable(write_batch writes, caf::typed_response_promise<T> promise, T value,
                          std::function<void()> after = {}) {
    commit(std::move(writes), [promise, value = std::move(value),
                               after = std::move(after)](const caf::error& err) mutable {
      if (err)
        promise.deliver(err);
      else
        promise.deliver(std::move(value));
      if (after)
        after();
    });
  }

private:
  journal& journal_;
  caf::actor_addr self_;
  uint64_t next_ticket_ = 1;
  std::unordered_map<uint64_t, continuation> waiting_;
};

} // namespace mailroom
