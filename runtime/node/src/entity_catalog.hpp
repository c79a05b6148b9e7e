// The node's catalog: the configuration of every entity as journaled, and who is changing which.
//
// A change claims its entity (kind and name) for its whole course: check, journal, spawn or
// reconfigure the actor, record. A second change of the same entity waits for the first, so a
// create is never check-then-act; changes of different entities run at once. The mutex guards
// only the tables and the claims, for as long as reading or updating them takes: no lock is
// held across the journal's fsync or an actor request.
//
// Claims nest in one order only, so two changes never wait for each other: saga, then queue,
// then topic, then sink (a saga creates its queue, sink and alarm; a queue's deletion
// unsubscribes it from topics; a queue or topic creates its sinks once its own checks pass, so
// a refused change leaves none behind). Nothing acquires a claim while holding a sink's or an
// alarm's. Every router change claims the router graph (one claim for all routers): the
// loop check reads every router, so two changes that each close half a loop cannot both pass.
#pragma once

#include "mailroom/alarm_types.hpp"
#include "mailroom/registry.hpp"
#include "mailroom/router_types.hpp"
#include "mailroom/saga_types.hpp"
#include "mailroom/topic_types.hpp"
#include "mailroom/types.hpp"

#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace mailroom {

class entity_catalog {
public:
  /// What the node keeps of each kind (sinks have no configuration; the registry has them).
  struct tables {
    std::map<std::string, queue_config> queues;
    std::map<std::string, topic_config> topics;
    std::map<std::string, router_config> routers;
    std::map<std::string, alarm_config> alarms;
    /// Every stored version of every saga definition, by name then version.
    std::map<std::string, std::map<uint32_t, saga_definition>> sagas;
  };

  /// One entity being changed; released when destroyed.
  class claim {
  public:
    claim(claim&& other) noexcept
        : catalog_(std::exchange(other.catalog_, nullptr)), key_(other.key_) {}
    claim(const claim&) = delete;
    claim& operator=(const claim&) = delete;
    claim& operator=(claim&&) = delete;
    ~claim();

  private:
    friend class entity_catalog;
    claim(entity_catalog* catalog, std::pair<entity_kind, std::string> key)
        : catalog_(catalog), key_(std::move(key)) {}
    entity_catalog* catalog_;
    std::pair<entity_kind, std::string> key_;
  };

  /// Waits until no other change holds the entity, then holds it.
  claim acquire(entity_kind kind, const std::string& name);

  /// The name every router change claims.
  static constexpr const char* router_graph = "";

  /// Reads or updates the tables; `f` must not block (no journal, no actor request).
  template <class F>
  auto with(F&& f) {
    std::lock_guard<std::mutex> guard{mutex_};
    return f(tables_);
  }
  template <class F>
  auto with(F&& f) const {
    std::lock_guard<std::mutex> guard{mutex_};
    return f(static_cast<const tables&>(tables_));
  }

  /// One table of `tables`, e.g. &entity_catalog::tables::topics.
  template <class Config>
  using table = std::map<std::string, Config> tables::*;

  /// The entity's configuration now, if it has one.
  template <class Config>
  std::optional<Config> find(table<Config> t, const std::string& name) const {
    return with([&](const tables& all) -> std::optional<Config> {
      auto it = (all.*t).find(name);
      return it == (all.*t).end() ? std::nullopt : std::optional<Config>{it->second};
    });
  }
  /// Records the configuration under its name.
  template <class Config>
  void record(table<Config> t, Config config) {
    with([&](tables& all) {
      auto& slot = (all.*t)[config.name];
      slot = std::move(config);
    });
  }
  /// Removes the entity's configuration and returns it, if it had one.
  template <class Config>
  std::optional<Config> forget(table<Config> t, const std::string& name) {
    return with([&](tables& all) -> std::optional<Config> {
      auto it = (all.*t).find(name);
      if (it == (all.*t).end())
        return std::nullopt;
      auto gone = std::move(it->second);
      (all.*t).erase(it);
      return gone;
    });
  }

  /// The names in `t` and those of `kind` claimed now (an entity being created has no row yet).
  template <class Config>
  std::set<std::string> names_with_claimed(entity_kind kind, table<Config> t) const {
    std::lock_guard<std::mutex> guard{mutex_};
    std::set<std::string> names;
    for (const auto& [name, config] : tables_.*t)
      names.insert(name);
    for (const auto& [k, name] : claims_)
      if (k == kind)
        names.insert(name);
    return names;
  }

private:
  void release(const std::pair<entity_kind, std::string>& key);

  mutable std::mutex mutex_;
  std::condition_variable released_;
  std::set<std::pair<entity_kind, std::string>> claims_; // GUARDED_BY(mutex_)
  tables tables_;                                        // GUARDED_BY(mutex_)
};

} // namespace mailroom
