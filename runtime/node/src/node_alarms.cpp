// node: alarms (see actors/alarm).
#include "mailroom/node.hpp"

#include "alarm/alarm_actor.hpp"
#include "ask.hpp"
#include "entity_catalog.hpp"
#include "recover_rows.hpp"
#include "codec.hpp"
#include "journal.hpp"
#include "mailroom/error.hpp"
#include "mailroom/protocol.hpp"

#include <caf/send.hpp>
#include <spdlog/spdlog.h>

namespace mailroom {

namespace {

using tables = entity_catalog::tables;

constexpr const char* alarm_kind = "alarm";

caf::error no_alarm(const std::string& name) {
  return make_error(errc::not_found, "no alarm named '" + name + "'");
}

} // namespace

caf::error node::recover_alarms() {
  auto alarms = recover_rows(
      *journal_, alarm_kind, "alarm", codec::decode_alarm_config,
      [&](const std::string& name, alarm_config config) -> caf::error {
        registry_->put(entity_kind::alarm, name,
                       spawn_alarm(*system_, alarm_state{config}, {registry_, config_.clock}));
        catalog_->record(&tables::alarms, std::move(config));
        return {};
      });
  return alarms ? caf::error{} : std::move(alarms.error());
}

caf::error node::put_alarm(const alarm_config& config) {
  if (auto err = validate(config))
    return err;
  auto claim = catalog_->acquire(entity_kind::alarm, config.name);
  if (catalog_->find(&tables::alarms, config.name) == config)
    return {};
  for (const auto* topic : {&config.topic, &config.ok_topic})
    if (!topic->empty() && !registry_->find(entity_kind::topic, *topic))
      return make_error(errc::not_found, "alarm '" + config.name + "': no topic named '" + *topic +
                                             "' for its alerts");
  write_batch writes;
  writes.put_catalog(alarm_kind, config.name, codec::encode_alarm_config(config));
  bool created = false;
  auto err = commit_entity(
      entity_kind::alarm, config.name, std::move(writes), reconfigure_with(*system_, config), [&] {
        created = true;
        return spawn_alarm(*system_, alarm_state{config}, {registry_, config_.clock});
      });
  if (err)
    return err;
  if (created)
    spdlog::info("alarm '{}' created on {} {}", config.name, config.entity, config.metric);
  catalog_->record(&tables::alarms, config);
  return {};
}

caf::error node::delete_alarm(const std::string& name) {
  auto claim = catalog_->acquire(entity_kind::alarm, name);
  if (!catalog_->find(&tables::alarms, name))
    return no_alarm(name);
  write_batch writes;
  writes.delete_catalog(alarm_kind, name);
  if (auto err = remove_entity(entity_kind::alarm, name, std::move(writes)))
    return err;
  catalog_->forget(&tables::alarms, name);
  return {};
}

std::vector<std::string> node::alarm_names() const {
  return registry_->names(entity_kind::alarm);
}

caf::expected<alarm_config> node::alarm_configuration(const std::string& name) {
  if (auto config = catalog_->find(&tables::alarms, name))
    return std::move(*config);
  return no_alarm(name);
}

caf::expected<caf::actor> node::alarm(const std::string& name) const {
  if (auto a = registry_->find(entity_kind::alarm, name))
    return *a;
  return no_alarm(name);
}

caf::expected<alarm_status> node::alarm_state_of(const std::string& name) {
  auto a = alarm(name);
  if (!a)
    return std::move(a.error());
  return ask<alarm_status>(*system_, *a, stats_atom::value);
}

} // namespace mailroom
