// node: topics and their subscriptions (the queue and sink parts are in node.cpp).
#include "mailroom/node.hpp"

#include "topic/topic_actor.hpp"
#include "ask.hpp"
#include "codec.hpp"
#include "journal.hpp"
#include "mailroom/error.hpp"
#include "mailroom/protocol.hpp"

#include <caf/send.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace mailroom {

namespace {

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
  std::lock_guard<std::mutex> guard{catalog_mutex_};
  size_t topics = 0;
  auto err = journal_->read_catalog(
      topic_kind, [&](const std::string& name, uint64_t, const std::string& blob) -> caf::error {
        auto config = codec::decode_topic_config(blob);
        if (!config)
          return make_error(errc::corruption,
                            "topic '" + name + "': " + message_of(config.error()));
        auto state = topic_state::make(*config);
        if (!state)
          return make_error(errc::corruption, message_of(state.error()));
        topics_[name] = *config;
        registry_->put(entity_kind::topic, name,
                       spawn_topic(*system_, std::move(*state),
                                   {journal_.get(), registry_, config_.clock, config_.trace}));
        ++topics;
        return {};
      });
  if (!err && topics > 0)
    spdlog::info("recovered {} topic(s)", topics);
  return err;
}

caf::error node::write_topic(topic_config config) {
  auto state = topic_state::make(config);
  if (!state)
    return std::move(state.error());
  for (const auto& s : config.subscriptions)
    if (!configs_.count(s.queue))
      return make_error(errc::unknown_queue, "topic '" + config.name + "': subscription '" +
                                                 s.queue + "': no queue named '" + s.queue + "'");
  write_batch writes;
  writes.put_catalog(topic_kind, config.name, codec::encode_topic_config(config));
  if (auto err = journal_->write(std::move(writes)))
    return err;
  if (auto actor = registry_->find(entity_kind::topic, config.name)) {
    if (auto r = ask<ok_atom>(*system_, *actor, config_atom::value, config); !r)
      return std::move(r.error());
  } else {
    registry_->put(entity_kind::topic, config.name,
                   spawn_topic(*system_, std::move(*state),
                               {journal_.get(), registry_, config_.clock, config_.trace}));
    spdlog::info("topic '{}' created", config.name);
  }
  topics_[config.name] = std::move(config);
  return {};
}

caf::error node::create_topic(topic_config config) {
  {
    std::lock_guard<std::mutex> guard{catalog_mutex_};
    if (auto it = topics_.find(config.name); it != topics_.end()) {
      if (it->second == config)
        return {};
      return make_error(errc::already_exists,
                        "topic '" + config.name + "' exists with other subscriptions");
    }
  }
  return put_topic(std::move(config));
}

caf::error node::put_topic(topic_config config) {
  if (auto err = validate(config))
    return err;
  for (const auto& s : config.subscriptions)
    if (!s.dead_letter_target.empty())
      if (auto err = create_dead_letter_sink(s.dead_letter_target))
        return err;
  std::lock_guard<std::mutex> guard{catalog_mutex_};
  if (auto it = topics_.find(config.name); it != topics_.end() && it->second == config)
    return {};
  return write_topic(std::move(config));
}

caf::error node::delete_topic(const std::string& name) {
  std::lock_guard<std::mutex> guard{catalog_mutex_};
  auto actor = registry_->find(entity_kind::topic, name);
  if (!actor)
    return no_topic(name);
  write_batch writes;
  writes.delete_catalog(topic_kind, name);
  if (auto err = journal_->write(std::move(writes)))
    return err;
  registry_->erase(entity_kind::topic, name);
  topics_.erase(name);
  caf::anon_send_exit(*actor, caf::exit_reason::user_shutdown);
  spdlog::info("topic '{}' deleted", name);
  return {};
}

caf::error node::subscribe(const std::string& topic, subscription sub) {
  if (!sub.dead_letter_target.empty())
    if (auto err = create_dead_letter_sink(sub.dead_letter_target))
      return err;
  std::lock_guard<std::mutex> guard{catalog_mutex_};
  auto it = topics_.find(topic);
  if (it == topics_.end())
    return no_topic(topic);
  auto config = it->second;
  auto& subs = config.subscriptions;
  auto existing = std::find_if(subs.begin(), subs.end(),
                               [&](const subscription& s) { return s.queue == sub.queue; });
  if (existing != subs.end()) {
    if (*existing == sub)
      return {};
    return make_error(errc::already_exists, "topic '" + topic + "': queue '" + sub.queue +
                                                "' is subscribed with other settings; "
                                                "unsubscribe it first");
  }
  subs.push_back(std::move(sub));
  if (auto err = validate(config))
    return err;
  spdlog::info("topic '{}': queue '{}' subscribed", topic, subs.back().queue);
  return write_topic(std::move(config));
}

caf::error node::unsubscribe(const std::string& topic, const std::string& queue) {
  std::lock_guard<std::mutex> guard{catalog_mutex_};
  auto it = topics_.find(topic);
  if (it == topics_.end())
    return no_topic(topic);
  auto config = it->second;
  if (!drop_subscription(config, queue))
    return make_error(errc::not_found,
                      "topic '" + topic + "': queue '" + queue + "' is not subscribed");
  spdlog::info("topic '{}': queue '{}' unsubscribed", topic, queue);
  return write_topic(std::move(config));
}

caf::error node::unsubscribe_everywhere(const std::string& queue) {
  for (auto [name, config] : topics_) {
    if (!drop_subscription(config, queue))
      continue;
    spdlog::info("topic '{}': queue '{}' unsubscribed (queue deleted)", name, queue);
    if (auto err = write_topic(std::move(config)))
      return err;
  }
  return {};
}

caf::expected<topic_config> node::topic_configuration(const std::string& name) const {
  std::lock_guard<std::mutex> guard{catalog_mutex_};
  if (auto it = topics_.find(name); it != topics_.end())
    return it->second;
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
