// node: alarms (see actors/alarm).
#include "mailroom/node.hpp"

#include "alarm/alarm_actor.hpp"
#include "ask.hpp"
#include "codec.hpp"
#include "journal.hpp"
#include "mailroom/error.hpp"
#include "mailroom/protocol.hpp"

#include <caf/send.hpp>
#include <spdlog/spdlog.h>

namespace mailroom {

namespace {

constexpr const char* alarm_kind = "alarm";

caf::error no_alarm(const std::string& name) {
  return make_error(errc::not_found, "no alarm named '" + name + "'");
}

} // namespace

caf::error node::recover_alarms() {
  std::lock_guard<std::mutex> guard{catalog_mutex_};
  return journal_->read_catalog(
      alarm_kind, [&](const std::string& name, uint64_t, const std::string& blob) -> caf::error {
        auto config = codec::decode_alarm_config(blob);
        if (!config)
          return make_error(errc::corruption,
                            "alarm '" + name + "': " + message_of(config.error()));
        alarms_[name] = *config;
        registry_->put(entity_kind::alarm, name,
                       spawn_alarm(*system_, alarm_state{*config}, {registry_, config_.clock}));
        return {};
      });
}

caf::error node::put_alarm(alarm_config config) {
  if (auto err = validate(config))
    return err;
  std::lock_guard<std::mutex> guard{catalog_mutex_};
  if (auto it = alarms_.find(config.name); it != alarms_.end() && it->second == config)
    return {};
  if (!registry_->find(entity_kind::topic, config.topic))
    return make_error(errc::not_found, "alarm '" + config.name + "': no topic named '" +
                                           config.topic + "' for its alerts");
  write_batch writes;
  writes.put_catalog(alarm_kind, config.name, codec::encode_alarm_config(config));
  if (auto err = journal_->write(std::move(writes)))
    return err;
  if (auto actor = registry_->find(entity_kind::alarm, config.name)) {
    if (auto r = ask<ok_atom>(*system_, *actor, config_atom::value, config); !r)
      return std::move(r.error());
  } else {
    registry_->put(entity_kind::alarm, config.name,
                   spawn_alarm(*system_, alarm_state{config}, {registry_, config_.clock}));
    spdlog::info("alarm '{}' created on {} {}", config.name, config.entity, config.metric);
  }
  alarms_[config.name] = std::move(config);
  return {};
}

caf::error node::delete_alarm(const std::string& name) {
  std::lock_guard<std::mutex> guard{catalog_mutex_};
  auto actor = registry_->find(entity_kind::alarm, name);
  if (!actor)
    return no_alarm(name);
  write_batch writes;
  writes.delete_catalog(alarm_kind, name);
  if (auto err = journal_->write(std::move(writes)))
    return err;
  registry_->erase(entity_kind::alarm, name);
  alarms_.erase(name);
  caf::anon_send_exit(*actor, caf::exit_reason::user_shutdown);
  return {};
}

std::vector<std::string> node::alarm_names() const {
  return registry_->names(entity_kind::alarm);
}

caf::expected<alarm_config> node::alarm_configuration(const std::string& name) const {
  std::lock_guard lock{catalog_mutex_};
  auto it = alarms_.find(name);
  if (it == alarms_.end())
    return no_alarm(name);
  return it->second;
}

caf::expected<alarm_status> node::alarm_state_of(const std::string& name) {
  auto a = registry_->find(entity_kind::alarm, name);
  if (!a)
    return no_alarm(name);
  return ask<alarm_status>(*system_, *a, stats_atom::value);
}

} // namespace mailroom
