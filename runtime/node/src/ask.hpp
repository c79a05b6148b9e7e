// Requests to actors from outside any actor, blocking the calling (API) thread. The client
// endpoint's kj thread, which must never block, asks through its actor_bridge instead.
#pragma once

#include "mailroom/error.hpp"
#include "mailroom/protocol.hpp"

#include <caf/actor_system.hpp>
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

/// Reconfigures a running entity's actor with its new configuration.
template <class Config>
std::function<caf::error(const caf::actor&)> reconfigure_with(caf::actor_system& system,
                                                              const Config& config) {
  return [&system, &config](const caf::actor& actor) -> caf::error {
    auto r = ask<ok_atom>(system, actor, config_atom::value, config);
    return r ? caf::error{} : std::move(r.error());
  };
}

} // namespace mailroom
