#include "router/router_actor.hpp"

#include "mailroom/error.hpp"
#include "mailroom/ids.hpp"
#include "mailroom/protocol.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

namespace mailroom {

namespace {

struct routing {
  caf::typed_response_promise<route_result> promise;
  route_result result;
  size_t waiting = 0;
  bool failed = false;

  void done(const caf::error& err = {}) {
    if (failed)
      return;
    if (err) {
      failed = true;
      promise.deliver(err);
      return;
    }
    if (--waiting == 0)
      promise.deliver(result);
  }
};

} // namespace

struct router_actor_state {
  std::unique_ptr<router_state> router;
  router_actor_deps deps;
  static inline const char* name = "router";
};

namespace {

using self_ptr = caf::stateful_actor<router_actor_state>*;

std::optional<caf::actor> find(self_ptr self, const route_target& t) {
  auto kind = t.what == route_target::kind::queue   ? entity_kind::queue
              : t.what == route_target::kind::topic ? entity_kind::topic
                                                    : entity_kind::router;
  return self->state.deps.entities->find(kind, t.name);
}

std::vector<dead_letter> unroutable_records(self_ptr self, std::vector<outgoing_message> messages) {
  auto now = self->state.deps.clock->now_ms();
  std::vector<dead_letter> out;
  for (auto& m : messages) {
    dead_letter d;
    d.message.id = new_message_id();
    d.message.queue = self->state.router->name();
    d.message.body = std::move(m.body);
    d.message.attributes = std::move(m.attributes);
    d.message.dedup_id = std::move(m.dedup_id);
    d.message.causation_id = std::move(m.causation_id);
    d.message.correlation_id = std::move(m.correlation_id);
    d.message.group_id = std::move(m.group_id);
    d.message.sent_at_us = m.sent_at_us != 0 ? m.sent_at_us : now * 1000;
    d.death.reason = "unroutable";
    d.death.error = "no rule of router '" + self->state.router->name() + "' matched";
    d.death.source = self->state.router->name();
    d.death.first_failure_ms = d.death.last_failure_ms = d.death.dead_at_ms = now;
    out.push_back(std::move(d));
  }
  return out;
}

caf::result<route_result> route(self_ptr self, std::vector<outgoing_message> batch) {
  auto& router = *self->state.router;
  if (batch.empty())
    return make_error(errc::invalid_argument, "router '" + router.name() + "': empty batch");
  auto plan = router.route(std::move(batch));
  auto r = std::make_shared<routing>();
  r->promise = self->make_response_promise<route_result>();
  r->result = {plan.routed, plan.unroutable.size(), plan.copies};
  r->waiting = plan.by_target.size() + 1; // +1 until every request is out
  auto fail = [r](caf::error& err) { r->done(err); };
  for (auto& [text, target] : plan.by_target) {
    auto actor = find(self, target.first);
    if (!actor) {
      r->done(make_error(errc::not_found,
                         "router '" + router.name() + "': target '" + text + "' does not exist"));
      continue;
    }
    auto& messages = target.second;
    switch (target.first.what) {
    case route_target::kind::queue:
      self->request(*actor, caf::infinite, send_atom::value, std::move(messages))
          .then([r](std::vector<std::string>&) { r->done(); }, fail);
      break;
    case route_target::kind::topic:
      self->request(*actor, caf::infinite, publish_atom::value, std::move(messages))
          .then([r](publish_result&) { r->done(); }, fail);
      break;
    case route_target::kind::router:
      self->request(*actor, caf::infinite, route_atom::value, std::move(messages))
          .then([r](route_result&) { r->done(); }, fail);
      break;
    }
  }
  if (!plan.unroutable.empty()) {
    ++r->waiting;
    auto sink_name = router.dead_letter_target();
    auto sink = self->state.deps.entities->find(entity_kind::dead_letter_sink, sink_name);
    if (!sink)
      r->done(make_error(errc::not_found, "router '" + router.name() + "': dead-letter sink '" +
                                              sink_name + "' does not exist"));
    else
      self->request(*sink, caf::infinite, dead_atom::value,
                    unroutable_records(self, std::move(plan.unroutable)))
          .then([r](ok_atom) { r->done(); }, fail);
  }
  auto promise = r->promise;
  r->done();
  return promise;
}

caf::behavior router_actor(caf::stateful_actor<router_actor_state>* self, router_state state,
                           router_actor_deps deps) {
  self->state.router = std::make_unique<router_state>(std::move(state));
  self->state.deps = std::move(deps);
  return {
      [self](route_atom, std::vector<outgoing_message>& batch) -> caf::result<route_result> {
        return route(self, std::move(batch));
      },
      [self](config_atom, router_config& config) -> caf::result<ok_atom> {
        auto next = router_state::make(std::move(config));
        if (!next)
          return std::move(next.error());
        *self->state.router = std::move(*next);
        return ok_atom::value;
      },
  };
}

} // namespace

caf::actor spawn_router(caf::actor_system& system, router_state state, router_actor_deps deps) {
  return system.spawn(router_actor, std::move(state), std::move(deps));
}

} // namespace mailroom
