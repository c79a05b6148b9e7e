// Requests to actors from outside any actor: blocking (API threads) or with a callback (the
// kj event loop thread of the client endpoint, which must never block).
#pragma once

#include "mailroom/error.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>
#include <caf/scoped_actor.hpp>

#include <functional>

namespace mailroom {

/// Sends a request and blocks the calling thread for the reply.
/// REQUIRES: not called from inside an actor (it would block a scheduler thread).
template <class R, class... Ts>
caf::expected<R> ask(caf::actor_system& system, const caf::actor& target, Ts&&... xs) {
  caf::scoped_actor self{system};
  caf::expected<R> result{make_error(errc::unavailable, "no reply")};
  self->request(target, caf::infinite, std::forward<Ts>(xs)...)
      .receive([&](R& value) { result = std::move(value); },
               [&](caf::error& err) { result = std::move(err); });
  return result;
}

/// Sends a request from a short-lived actor and calls `done` with the reply on a CAF thread.
/// `done` must be thread-safe with respect to its captures (e.g. a kj cross-thread fulfiller).
template <class R, class... Ts>
void ask_async(caf::actor_system& system, const caf::actor& target,
               std::function<void(caf::expected<R>)> done, Ts... xs) {
  system.spawn([target, done = std::move(done),
                args = std::make_tuple(std::move(xs)...)](caf::event_based_actor* self) mutable {
    std::apply(
        [&](auto&... a) {
          self->request(target, caf::infinite, std::move(a)...)
              .then(
                  [self, done](R& value) {
                    done(std::move(value));
                    self->quit();
                  },
                  [self, done](caf::error& err) {
                    done(std::move(err));
                    self->quit();
                  });
        },
        args);
  });
}

} // namespace mailroom
