// node: saga definitions and instances (see actors/saga).
#include "mailroom/node.hpp"

#include "queue/dedup_index.hpp" // key_of: SHA-256 of an idempotency key
#include "saga/saga_manager_actor.hpp"
#include "saga/saga_protocol.hpp"
#include "ask.hpp"
#include "entity_catalog.hpp"
#include "codec.hpp"
#include "journal.hpp"
#include "mailroom/error.hpp"
#include "mailroom/ids.hpp"
#include "mailroom/protocol.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace mailroom {

namespace {

constexpr const char* saga_kind = "saga";
/// Finished instances stay this long for `mailroom saga show`.
constexpr int64_t finished_retention_ms = 7LL * 24 * 3600 * 1000;
constexpr size_t max_idempotency_key = 256;

std::string catalog_key(const saga_definition& d) {
  return d.name + "@" + std::to_string(d.version);
}

/// The same key of the same definition always names the same instance: a UUID-shaped prefix of
/// SHA-256(definition, key).
std::string id_for_key(const std::string& definition, const std::string& key) {
  auto hex = dedup_index::key_of({}, definition + '\n' + key, true).substr(7); // "sha256:"
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

/// Start data must be a JSON object: parsed here, before anything starts (so that a bad element
/// of a bulk start starts none), and handed to the manager parsed.
caf::expected<nlohmann::json> parse_start_data(const std::string& definition,
                                               const std::string& data, const std::string& which) {
  auto parsed = nlohmann::json::parse(data, nullptr, false);
  if (parsed.is_object())
    return parsed;
  return make_error(errc::invalid_argument,
                    "saga '" + definition + "': " + which +
                        " must be a JSON object, e.g. {\"order_id\":\"o-1\"}");
}

caf::error no_definition(const std::string& name) {
  return make_error(errc::not_found, "no saga definition named '" + name + "'");
}

} // namespace

caf::error node::create_saga_entities(const saga_definition& d) {
  queue_config inbox;
  inbox.name = saga_inbox(d.name);
  // The manager settles a reply within milliseconds; a lease cut off by a crash should end
  // well before the steps' timeouts, or a reply that did arrive would look like a timeout.
  inbox.visibility_timeout_ms = 5'000;
  inbox.dead_letter_target = saga_dead_letter_sink(d.name);
  if (auto existing = queue_configuration(inbox.name); !existing)
    if (auto err = put_queue(inbox))
      return err;
  if (auto err = create_dead_letter_sink(inbox.dead_letter_target))
    return err;
  if (d.alarm_topic.empty())
    return {};
  alarm_config alarm;
  alarm.name = inbox.name + ".parked";
  alarm.entity = "sink:" + inbox.dead_letter_target;
  alarm.metric = "depth";
  alarm.threshold = 0;
  alarm.for_ms = 0;
  alarm.topic = d.alarm_topic;
  if (auto err = put_alarm(alarm))
    return make_error(code_of(err), "saga '" + d.name + "': its parked alarm: " + message_of(err));
  return {};
}

caf::error node::recover_sagas() {
  std::map<std::string, std::vector<saga_definition>> versions;
  auto err = journal_->read_catalog(
      saga_kind, [&](const std::string& key, uint64_t, const std::string& blob) -> caf::error {
        auto d = codec::decode_saga_definition(blob);
        if (!d)
          return make_error(errc::corruption, "saga '" + key + "': " + message_of(d.error()));
        versions[d->name].push_back(std::move(*d));
        return {};
      });
  if (err)
    return err;
  std::map<std::string, std::vector<saga_instance>> unfinished;
  err = journal_->read_sagas(
      {},
      {static_cast<uint8_t>(saga_status::running), static_cast<uint8_t>(saga_status::compensating),
       static_cast<uint8_t>(saga_status::parked)},
      UINT32_MAX, [&](const std::string& id, uint64_t, const std::string& blob) -> caf::error {
        auto inst = codec::decode_saga_instance(blob);
        if (!inst)
          return make_error(errc::corruption, "saga " + id + ": " + message_of(inst.error()));
        auto& vs = versions[inst->definition];
        auto v = std::find_if(vs.begin(), vs.end(),
                              [&](const auto& d) { return d.version == inst->version; });
        if (v == vs.end())
          return make_error(errc::corruption, "saga " + id + ": its definition '" +
                                                  inst->definition + "' version " +
                                                  std::to_string(inst->version) + " is missing");
        for (const auto& a : inst->timeline)
          if (a.step >= v->steps.size())
            return make_error(errc::corruption, "saga " + id + ": its timeline names step " +
                                                    std::to_string(a.step) + " of " +
                                                    std::to_string(v->steps.size()));
        unfinished[inst->definition].push_back(std::move(*inst));
        return {};
      });
  if (err)
    return err;
  auto last = journal_->max_saga_seq();
  if (!last)
    return std::move(last.error());
  *last_saga_seq_ = *last;
  write_batch cleanup;
  cleanup.delete_finished_sagas_before(config_.clock->now_ms() - finished_retention_ms);
  if (auto err = journal_->write(std::move(cleanup)))
    return err;
  for (auto& [name, vs] : versions) {
    std::sort(vs.begin(), vs.end(),
              [](const auto& a, const auto& b) { return a.version < b.version; });
    if (auto err = create_saga_entities(vs.back()))
      return err;
    catalog_->with([&](auto& t) {
      for (const auto& d : vs)
        t.sagas[name][d.version] = d;
    });
    registry_->put(entity_kind::saga, name,
                   spawn_saga_manager(*system_, vs, std::move(unfinished[name]),
                                      {journal_.get(), registry_, config_.clock, last_saga_seq_}));
  }
  return {};
}

caf::error node::put_saga(saga_definition d) {
  if (auto err = validate(d))
    return err;
  auto claim = catalog_->acquire(entity_kind::saga, d.name);
  auto stored = catalog_->with([&](const auto& t) -> caf::expected<bool> {
    auto vs = t.sagas.find(d.name);
    if (vs == t.sagas.end())
      return false;
    auto it = vs->second.find(d.version);
    if (it == vs->second.end())
      return false;
    if (it->second == d)
      return true;
    return make_error(errc::already_exists,
                      "saga '" + d.name + "' version " + std::to_string(d.version) +
                          " exists with other settings; running instances keep the version "
                          "they started with, so store the change as version " +
                          std::to_string(vs->second.rbegin()->first + 1));
  });
  if (!stored)
    return std::move(stored.error());
  if (*stored)
    return {};
  if (auto err = create_saga_entities(d))
    return err;
  write_batch writes;
  writes.put_catalog(saga_kind, catalog_key(d), codec::encode_saga_definition(d));
  auto err = commit_entity(
      entity_kind::saga, d.name, std::move(writes), reconfigure_with(*system_, d), [&] {
        return spawn_saga_manager(*system_, {d}, {},
                                  {journal_.get(), registry_, config_.clock, last_saga_seq_});
      });
  if (err)
    return err;
  spdlog::info("saga '{}' version {} stored ({} steps)", d.name, d.version, d.steps.size());
  catalog_->with([&](auto& t) { t.sagas[d.name][d.version] = std::move(d); });
  return {};
}

caf::expected<saga_definition> node::saga_definition_of(const std::string& name, uint32_t version) {
  return catalog_->with([&](const auto& t) -> caf::expected<saga_definition> {
    auto vs = t.sagas.find(name);
    if (vs == t.sagas.end())
      return no_definition(name);
    auto v = vs->second.find(version);
    if (v == vs->second.end())
      return make_error(errc::not_found,
                        "saga '" + name + "' has no version " + std::to_string(version));
    return v->second;
  });
}

caf::expected<std::string> node::start_saga(const std::string& definition, const std::string& data,
                                            const std::string& idempotency_key) {
  auto manager = registry_->find(entity_kind::saga, definition);
  if (!manager)
    return no_definition(definition);
  auto parsed = parse_start_data(definition, data, "the start data");
  if (!parsed)
    return std::move(parsed.error());
  if (idempotency_key.size() > max_idempotency_key)
    return make_error(errc::invalid_argument, "saga '" + definition + "': idempotency key of " +
                                                  std::to_string(idempotency_key.size()) +
                                                  " bytes is longer than 256");
  std::string id;
  if (idempotency_key.empty()) {
    id = new_message_id();
  } else {
    id = id_for_key(definition, idempotency_key);
    if (auto existing = journal_->read_saga(id))
      return id; // started before (and maybe finished): the same instance
    else if (code_of(existing.error()) != errc::not_found)
      return std::move(existing.error());
  }
  return ask<std::string>(*system_, *manager, start_atom::value, id, std::move(*parsed),
                          idempotency_key);
}

caf::expected<std::vector<std::string>> node::start_sagas(const std::string& definition,
                                                          const std::vector<std::string>& data) {
  auto manager = registry_->find(entity_kind::saga, definition);
  if (!manager)
    return no_definition(definition);
  std::vector<std::string> ids;
  std::vector<nlohmann::json> parsed;
  ids.reserve(data.size());
  parsed.reserve(data.size());
  for (size_t i = 0; i < data.size(); ++i) {
    auto one = parse_start_data(definition, data[i], "start data " + std::to_string(i));
    if (!one)
      return std::move(one.error());
    parsed.push_back(std::move(*one));
    ids.push_back(new_message_id());
  }
  return ask<std::vector<std::string>>(*system_, *manager, start_atom::value, std::move(ids),
                                       std::move(parsed));
}

caf::expected<saga_instance> node::saga(const std::string& id) {
  auto blob = journal_->read_saga(id);
  if (!blob)
    return std::move(blob.error());
  return codec::decode_saga_instance(*blob);
}

caf::error node::cancel_saga(const std::string& id) {
  auto inst = saga(id);
  if (!inst)
    return std::move(inst.error());
  if (finished(inst->status))
    return make_error(errc::invalid_argument, "saga '" + id + "' is " +
                                                  std::string{to_string(inst->status)} +
                                                  " already; there is nothing to cancel");
  auto manager = registry_->find(entity_kind::saga, inst->definition);
  if (!manager)
    return no_definition(inst->definition);
  auto r = ask<ok_atom>(*system_, *manager, cancel_atom::value, id);
  return r ? caf::error{} : std::move(r.error());
}

caf::expected<std::vector<saga_summary>> node::sagas(const saga_filter& filter) {
  std::vector<uint8_t> statuses;
  if (filter.status)
    statuses.push_back(static_cast<uint8_t>(*filter.status));
  std::vector<saga_summary> out;
  std::vector<std::optional<uint32_t>> current_steps; // by index into out
  auto err = journal_->read_sagas(
      filter.definition, statuses, filter.max,
      [&](const std::string& id, uint64_t, const std::string& blob) -> caf::error {
        auto inst = codec::decode_saga_instance(blob);
        if (!inst)
          return make_error(errc::corruption, "saga " + id + ": " + message_of(inst.error()));
        out.push_back({inst->id,
                       inst->definition,
                       inst->version,
                       inst->status,
                       inst->started_at_ms,
                       inst->updated_at_ms,
                       {}});
        current_steps.push_back(finished(inst->status) || inst->timeline.empty()
                                    ? std::nullopt
                                    : std::optional{inst->timeline.back().step});
        return {};
      });
  if (err)
    return err;
  // Step names after the scan, not inside it: the scan holds the database.
  catalog_->with([&](const auto& t) {
    for (size_t i = 0; i < out.size(); ++i) {
      auto vs = t.sagas.find(out[i].definition);
      if (!current_steps[i] || vs == t.sagas.end())
        continue;
      if (auto v = vs->second.find(out[i].version);
          v != vs->second.end() && *current_steps[i] < v->second.steps.size())
        out[i].current_step = v->second.steps[*current_steps[i]].name;
    }
  });
  return out;
}

caf::expected<saga_metrics> node::saga_statistics(const std::string& definition) {
  std::vector<caf::actor> managers;
  if (!definition.empty()) {
    auto m = registry_->find(entity_kind::saga, definition);
    if (!m)
      return no_definition(definition);
    managers.push_back(*m);
  } else {
    for (const auto& name : registry_->names(entity_kind::saga))
      if (auto m = registry_->find(entity_kind::saga, name))
        managers.push_back(*m);
  }
  saga_metrics total;
  for (const auto& m : managers) {
    auto r = ask<saga_metrics>(*system_, m, stats_atom::value);
    if (!r)
      return std::move(r.error());
    total.running += r->running;
    total.compensating += r->compensating;
    total.parked += r->parked;
    total.started += r->started;
    total.completed += r->completed;
    total.compensated += r->compensated;
    total.compensations_sent += r->compensations_sent;
    total.step_replies += r->step_replies;
    // Percentiles do not add up: report the worst definition's.
    total.step_latency_p50_ms = std::max(total.step_latency_p50_ms, r->step_latency_p50_ms);
    total.step_latency_p99_ms = std::max(total.step_latency_p99_ms, r->step_latency_p99_ms);
  }
  return total;
}

} // namespace mailroom
