// node: content-based routers (queues and sinks are in node.cpp, topics in node_topics.cpp).
#include "mailroom/node.hpp"

#include "router/router_actor.hpp"
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

constexpr const char* router_kind = "router";

caf::error no_router(const std::string& name) {
  return make_error(errc::not_found, "no router named '" + name + "'");
}

entity_kind kind_of(const route_target& t) {
  switch (t.what) {
  case route_target::kind::queue:
    return entity_kind::queue;
  case route_target::kind::topic:
    return entity_kind::topic;
  case route_target::kind::router:
    return entity_kind::router;
  }
  return entity_kind::queue;
}

} // namespace

caf::error node::recover_routers() {
  auto routers = recover_rows(
      *journal_, router_kind, "router", codec::decode_router_config,
      [&](const std::string& name, router_config config) -> caf::error {
        auto state = router_state::make(config);
        if (!state)
          return std::move(state.error());
        registry_->put(entity_kind::router, name,
                       spawn_router(*system_, std::move(*state), {registry_, config_.clock}));
        catalog_->record(&tables::routers, std::move(config));
        return {};
      });
  return routers ? caf::error{} : std::move(routers.error());
}

caf::error node::put_router(const router_config& config) {
  auto state = router_state::make(config);
  if (!state)
    return std::move(state.error());
  if (auto err = create_dead_letter_sink(state->dead_letter_target()))
    return err;
  auto claim = catalog_->acquire(entity_kind::router, entity_catalog::router_graph);
  if (catalog_->find(&tables::routers, config.name) == config)
    return {};
  std::vector<route_target> targets;
  for (const auto& r : config.rules)
    targets.push_back(r.to);
  if (config.fallback)
    targets.push_back(*config.fallback);
  for (const auto& t : targets)
    if (!registry_->find(kind_of(t), t.name) &&
        !(t.what == route_target::kind::router && t.name == config.name))
      return make_error(errc::not_found, "router '" + config.name + "': target '" + t.to_string() +
                                             "' does not exist");
  auto loop = catalog_->with([&](const auto& t) {
    std::vector<router_config> all;
    for (const auto& [name, r] : t.routers)
      if (name != config.name)
        all.push_back(r);
    all.push_back(config);
    return check_for_loops(all);
  });
  if (loop)
    return loop;
  write_batch writes;
  writes.put_catalog(router_kind, config.name, codec::encode_router_config(config));
  bool created = false;
  auto err = commit_entity(
      entity_kind::router, config.name, std::move(writes), reconfigure_with(*system_, config), [&] {
        created = true;
        return spawn_router(*system_, std::move(*state), {registry_, config_.clock});
      });
  if (err)
    return err;
  spdlog::info("router '{}' {}", config.name, created ? "created" : "reconfigured");
  catalog_->record(&tables::routers, config);
  return {};
}

caf::error node::delete_router(const std::string& name) {
  auto claim = catalog_->acquire(entity_kind::router, entity_catalog::router_graph);
  if (!catalog_->find(&tables::routers, name))
    return no_router(name);
  write_batch writes;
  writes.delete_catalog(router_kind, name);
  if (auto err = remove_entity(entity_kind::router, name, std::move(writes)))
    return err;
  catalog_->forget(&tables::routers, name);
  spdlog::info("router '{}' deleted", name);
  return {};
}

caf::expected<router_config> node::router_configuration(const std::string& name) {
  if (auto config = catalog_->find(&tables::routers, name))
    return std::move(*config);
  return no_router(name);
}

std::vector<std::string> node::router_names() const {
  return registry_->names(entity_kind::router);
}

caf::expected<route_result> node::route(const std::string& name,
                                        const std::vector<outgoing_message>& messages) {
  auto r = router(name);
  if (!r)
    return std::move(r.error());
  return ask<route_result>(*system_, *r, route_atom::value, messages);
}

caf::expected<caf::actor> node::router(const std::string& name) const {
  if (auto r = registry_->find(entity_kind::router, name))
    return *r;
  return no_router(name);
}

} // namespace mailroom
