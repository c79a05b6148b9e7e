#include "alarm/alarm_actor.hpp"

#include "alarm/cloudwatch_message.hpp"

#include "journal_writer.hpp" // tick_atom
#include "mailroom/error.hpp"
#include "mailroom/protocol.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <sstream>

namespace mailroom {

struct alarm_actor_state {
  std::unique_ptr<alarm_state> alarm;
  alarm_actor_deps deps;
  bool missing_logged = false;
  static inline const char* name = "alarm";
};

namespace {

using self_ptr = caf::stateful_actor<alarm_actor_state>*;

void publish(self_ptr self, const alarm_state::transition& t) {
  const auto& c = self->state.alarm->config();
  if (t.firing)
    spdlog::warn("{}", t.text);
  else
    spdlog::info("{}", t.text);
  const auto& name = c.topic_for(t.firing);
  if (name.empty())
    return; // a CloudWatch alarm without actions for this state: only logged
  auto topic = self->state.deps.entities->find(entity_kind::topic, name);
  if (!topic) {
    spdlog::error("alarm '{}': topic '{}' does not exist; the alert was only logged", c.name, name);
    return;
  }
  std::ostringstream value, threshold;
  value << t.value;
  threshold << c.threshold;
  outgoing_message m;
  if (!c.cloudwatch.empty()) {
    m = cloudwatch_state_change(c, t, self->state.deps.clock->now_ms());
  } else {
    m.body = t.text;
    m.attributes = {{"alarm", c.name},      {"state", t.firing ? "ALARM" : "OK"},
                    {"entity", c.entity},   {"metric", c.metric},
                    {"value", value.str()}, {"threshold", threshold.str()}};
  }
  self->request(*topic, caf::infinite, publish_atom::value, std::vector<outgoing_message>{m})
      .then([](publish_result&) {},
            [name = c.name](caf::error& err) {
              spdlog::error("alarm '{}': publishing the alert failed: {}", name, message_of(err));
            });
}

void observe(self_ptr self, double reading) {
  auto t = self->state.alarm->observe(self->state.deps.clock->now_ms(), reading);
  if (t)
    publish(self, *t);
}

void check(self_ptr self) {
  auto& st = self->state;
  const auto& c = st.alarm->config();
  st.deps.clock->send_after(c.check_every_ms, caf::actor_cast<caf::actor>(self), tick_atom::value);
  auto colon = c.entity.find(':');
  auto is_queue = c.entity.compare(0, colon, "queue") == 0;
  auto name = c.entity.substr(colon + 1);
  auto target =
      st.deps.entities->find(is_queue ? entity_kind::queue : entity_kind::dead_letter_sink, name);
  if (!target) {
    if (!st.missing_logged)
      spdlog::warn("alarm '{}': {} does not exist (yet); not checked", c.name, c.entity);
    st.missing_logged = true;
    return;
  }
  st.missing_logged = false;
  auto failed = [self](caf::error& err) {
    spdlog::warn("alarm '{}': reading {} failed: {}", self->state.alarm->config().name,
                 self->state.alarm->config().entity, message_of(err));
  };
  if (!is_queue) {
    self->request(*target, caf::infinite, stats_atom::value)
        .then([self](uint64_t depth) { observe(self, static_cast<double>(depth)); }, failed);
    return;
  }
  self->request(*target, caf::infinite, stats_atom::value)
      .then(
          [self](queue_stats& s) {
            const auto& metric = self->state.alarm->config().metric;
            double reading = metric == "visible"         ? static_cast<double>(s.visible)
                             : metric == "in_flight"     ? static_cast<double>(s.in_flight)
                             : metric == "delayed"       ? static_cast<double>(s.delayed)
                             : metric == "oldest_age_ms" ? static_cast<double>(s.oldest_age_ms)
                             : metric == "sent"          ? static_cast<double>(s.sent)
                             : metric == "received"      ? static_cast<double>(s.received)
                             : metric == "acked"         ? static_cast<double>(s.acked)
                                                         : static_cast<double>(s.dead_lettered);
            observe(self, reading);
          },
          failed);
}

caf::behavior alarm_actor(caf::stateful_actor<alarm_actor_state>* self, alarm_state state,
                          alarm_actor_deps deps) {
  self->state.alarm = std::make_unique<alarm_state>(std::move(state));
  self->state.deps = std::move(deps);
  self->send(self, tick_atom::value);
  return {
      [self](tick_atom) { check(self); },
      [self](stats_atom) -> alarm_status { return self->state.alarm->status(); },
      [self](config_atom, alarm_config& config) -> caf::result<ok_atom> {
        if (auto err = validate(config))
          return err;
        *self->state.alarm = alarm_state{std::move(config)};
        return ok_atom::value;
      },
  };
}

} // namespace

caf::actor spawn_alarm(caf::actor_system& system, alarm_state state, alarm_actor_deps deps) {
  return system.spawn(alarm_actor, std::move(state), std::move(deps));
}

} // namespace mailroom
