// node: topics and their subscriptions (the queue and sink parts are in node.cpp).
#include "mailroom/node.hpp"

#include "topic/topic_actor.hpp"
#include "ask.hpp"
#include "entity_catalog.hpp"
#include "recover_rows.hpp"
#include "codec.hpp"
#include "journal.hpp"
#include "mailroom/error.hpp"
#include "mailroom/protocol.hpp"

#include <caf/send.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace mailroom {

namespace {

using tables = entity_catalog::tables;

constexpr const char* topic_kind = "topic";

caf::error no_topic(const std::string& name) {
  return make_error(errc::not_found, "no topic named '" + name + "'");
}

/// Removes `queue`'s subscription from `config`; false if it had none.
bool drop_subscription(topic_config& config, const std::string& queue) {
  auto& subs = config.subscriptions;
  auto gone = std::remove_if(subs.begin(), subs.end(),
                             [&](const subscription& s) { return s.queue == queue; });
  if (gone == subs.end())
    return false;
  subs.erase(gone, subs.end());
  return true;
}

} // namespace

caf::error node::recover_topics() {
  auto topics = recover_rows(*journal_, topic_kind, "topic", codec::decode_topic_config,
                             [&](const std::string& name, topic_config config) -> caf::error {
                               auto state = topic_state::make(config);
                               if (!state)
                                 return std::move(state.error());
                               registry_->put(entity_kind::topic, name,
                                              spawn_topic(*system_, std::move(*state),
                                                          {journal_.get(), registry_, config_.clock,
                                                           config_.trace, config_.aws_account}));
                               catalog_->record(&tables::topics, std::move(config));
                               return {};
                             });
  if (!topics)
    return std::move(topics.error());
  if (*topics > 0)
    spdlog::info("recovered {} topic(s)", *topics);
  return {};
}

caf::error node::write_topic(topic_config config) {
  auto state = topic_state::make(config);
  if (!state)
    return std::move(state.error());
  // A queue newly subscribed must exist; one subscribed before was checked then (and may be
  // going: its deletion unsubscribes it once this topic's claim is free).
  auto missing = catalog_->with([&](const auto& t) -> caf::error {
    auto before = t.topics.find(config.name);
    auto subscribed_before = [&](const std::string& queue) {
      if (before == t.topics.end())
        return false;
      const auto& subs = before->second.subscriptions;
      return std::any_of(subs.begin(), subs.end(),
                         [&](const subscription& s) { return s.queue == queue; });
    };
    for (const auto& s : config.subscriptions)
      if (!subscribed_before(s.queue) && !t.queues.count(s.queue))
        return make_error(errc::unknown_queue, "topic '" + config.name + "': subscription '" +
                                                   s.queue + "': no queue named '" + s.queue + "'");
    return {};
  });
  if (missing)
    return missing;
  write_batch writes;
  writes.put_catalog(topic_kind, config.name, codec::encode_topic_config(config));
  bool created = false;
  auto err = commit_entity(entity_kind::topic, config.name, std::move(writes),
                           reconfigure_with(*system_, config), [&] {
                             created = true;
                             return spawn_topic(*system_, std::move(*state),
                                                {journal_.get(), registry_, config_.clock,
                                                 config_.trace, config_.aws_account});
                           });
  if (err)
    return err;
  if (created)
    spdlog::info("topic '{}' created", config.name);
  catalog_->record(&tables::topics, std::move(config));
  return {};
}

caf::error node::create_topic(const topic_config& config) {
  return change_topic(config, true);
}

caf::error node::put_topic(const topic_config& config) {
  return change_topic(config, false);
}

caf::error node::change_topic(const topic_config& config, bool create_only) {
  if (auto err = validate(config))
    return err;
  auto claim = catalog_->acquire(entity_kind::topic, config.name);
  auto existing = catalog_->find(&tables::topics, config.name);
  if (existing && *existing == config)
    return {};
  if (existing && create_only)
    return make_error(errc::already_exists,
                      "topic '" + config.name + "' exists with other subscriptions");
  // Only now, so that a refused change leaves no sink behind (claims nest topic, then sink).
  for (const auto& s : config.subscriptions)
    if (!s.dead_letter_target.empty())
      if (auto err = create_dead_letter_sink(s.dead_letter_target))
        return err;
  return write_topic(config);
}

caf::error node::delete_topic(const std::string& name) {
  auto claim = catalog_->acquire(entity_kind::topic, name);
  if (!catalog_->find(&tables::topics, name))
    return no_topic(name);
  write_batch writes;
  writes.delete_catalog(topic_kind, name);
  if (auto err = remove_entity(entity_kind::topic, name, std::move(writes)))
    return err;
  catalog_->forget(&tables::topics, name);
  spdlog::info("topic '{}' deleted", name);
  return {};
}

caf::error node::subscribe(const std::string& topic, const subscription& sub) {
  return change_subscription(topic, sub, false);
}

caf::error node::update_subscription(const std::string& topic, const subscription& sub) {
  return change_subscription(topic, sub, true);
}

caf::error node::set_topic_display_name(const std::string& topic, const std::string& display_name) {
  auto claim = catalog_->acquire(entity_kind::topic, topic);
  auto config = topic_configuration(topic);
  if (!config)
    return std::move(config.error());
  if (config->display_name == display_name)
    return {};
  config->display_name = display_name;
  if (auto err = validate(*config))
    return err;
  return write_topic(std::move(*config));
}

caf::error node::change_subscription(const std::string& topic, const subscription& sub,
                                     bool replace) {
  if (!sub.dead_letter_target.empty())
    if (auto err = create_dead_letter_sink(sub.dead_letter_target))
      return err;
  auto claim = catalog_->acquire(entity_kind::topic, topic);
  auto config = topic_configuration(topic);
  if (!config)
    return std::move(config.error());
  auto& subs = config->subscriptions;
  auto existing = std::find_if(subs.begin(), subs.end(),
                               [&](const subscription& s) { return s.queue == sub.queue; });
  if (replace && existing == subs.end())
    return make_error(errc::not_found,
                      "topic '" + topic + "': queue '" + sub.queue + "' is not subscribed");
  if (existing != subs.end() && *existing == sub)
    return {};
  if (existing != subs.end() && !replace)
    return make_error(errc::already_exists, "topic '" + topic + "': queue '" + sub.queue +
                                                "' is subscribed with other settings; "
                                                "unsubscribe it first");
  bool changed = existing != subs.end();
  if (changed)
    *existing = sub;
  else
    subs.push_back(sub);
  if (auto err = validate(*config))
    return err;
  if (auto err = write_topic(std::move(*config)))
    return err;
  spdlog::info("topic '{}': queue '{}' {}", topic, sub.queue,
               changed ? "subscription changed" : "subscribed");
  return {};
}

caf::error node::unsubscribe(const std::string& topic, const std::string& queue) {
  auto claim = catalog_->acquire(entity_kind::topic, topic);
  auto config = topic_configuration(topic);
  if (!config)
    return std::move(config.error());
  if (!drop_subscription(*config, queue))
    return make_error(errc::not_found,
                      "topic '" + topic + "': queue '" + queue + "' is not subscribed");
  if (auto err = write_topic(std::move(*config)))
    return err;
  spdlog::info("topic '{}': queue '{}' unsubscribed", topic, queue);
  return {};
}

caf::error node::unsubscribe_everywhere(const std::string& queue) {
  // Every topic, and those being created: one that checked the queue before it went has its
  // claim, which this waits for.
  auto names = catalog_->names_with_claimed(entity_kind::topic, &tables::topics);
  for (const auto& name : names) {
    auto claim = catalog_->acquire(entity_kind::topic, name);
    auto config = topic_configuration(name);
    if (!config || !drop_subscription(*config, queue))
      continue;
    spdlog::info("topic '{}': queue '{}' unsubscribed (queue deleted)", name, queue);
    if (auto err = write_topic(std::move(*config)))
      return err;
  }
  return {};
}

caf::expected<topic_config> node::topic_configuration(const std::string& name) {
  if (auto config = catalog_->find(&tables::topics, name))
    return std::move(*config);
  return no_topic(name);
}

std::vector<std::string> node::topic_names() const {
  return registry_->names(entity_kind::topic);
}

caf::expected<caf::actor> node::topic(const std::string& name) const {
  if (auto a = registry_->find(entity_kind::topic, name))
    return *a;
  return no_topic(name);
}

caf::expected<publish_result> node::publish(const std::string& name,
                                            const std::vector<outgoing_message>& messages) {
  auto t = topic(name);
  if (!t)
    return std::move(t.error());
  return ask<publish_result>(*system_, *t, publish_atom::value, messages);
}

caf::expected<topic_stats> node::topic_statistics(const std::string& name) {
  auto t = topic(name);
  if (!t)
    return std::move(t.error());
  return ask<topic_stats>(*system_, *t, stats_atom::value);
}

} // namespace mailroom
