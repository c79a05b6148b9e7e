#include "mailroom/config.hpp"

#include "mailroom/arn.hpp"

#include "config_detail.hpp"

#include "mailroom/router_types.hpp" // check_for_loops

#include "mailroom/duration.hpp"
#include "mailroom/error.hpp"
#include "mailroom/memory_budget.hpp"

#include <toml++/toml.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace mailroom {

namespace config_detail {

caf::error fail(std::string_view source, const std::string& what) {
  return make_error(errc::invalid_argument, std::string{source} + ": " + what);
}

caf::error fail(std::string_view source, const toml::node& at, const std::string& what) {
  return make_error(errc::invalid_argument, std::string{source} + ":" +
                                                std::to_string(at.source().begin.line) + ": " +
                                                what);
}

std::string number_text(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

caf::error check_keys(std::string_view source, const toml::table& table, const std::string& where,
                      const std::set<std::string>& allowed) {
  for (const auto& [key, value] : table)
    if (!allowed.count(std::string{key.str()}))
      return fail(source, value, where + ": unknown key '" + std::string{key.str()} + "'");
  return {};
}

/// Reads an optional duration string into `out`.
caf::error read_duration(std::string_view source, const toml::table& table, const char* key,
                         const std::string& what, int64_t& out) {
  auto node = table.get(key);
  if (node == nullptr)
    return {};
  auto text = node->value<std::string>();
  if (!text)
    return fail(source, *node, what + " must be a string such as \"30s\"");
  auto ms = parse_duration_ms(*text, what);
  if (!ms)
    return fail(source, *node, message_of(ms.error()));
  out = *ms;
  return {};
}

caf::error read_string(std::string_view source, const toml::table& table, const char* key,
                       const std::string& what, std::string& out) {
  auto node = table.get(key);
  if (node == nullptr)
    return {};
  auto value = node->value<std::string>();
  if (!value)
    return fail(source, *node, what + " must be a string");
  out = *value;
  return {};
}

} // namespace config_detail

using namespace config_detail;

namespace {

caf::expected<queue_config> read_queue(std::string_view source, const std::string& name,
                                       const toml::table& t) {
  queue_config q;
  q.name = name;
  auto where = "queue '" + name + "'";
  if (auto err =
          check_keys(source, t, where,
                     {"visibility_timeout", "delay", "retention", "max_message_size",
                      "max_receive_count", "dead_letter", "dead_letter_queue", "retry", "max_depth",
                      "dedup_window", "content_based_dedup", "fifo", "receive_wait"}))
    return err;
  if (auto err = read_duration(source, t, "visibility_timeout", where + ": visibility_timeout",
                               q.visibility_timeout_ms))
    return err;
  if (auto err = read_duration(source, t, "delay", where + ": delay", q.delay_ms))
    return err;
  if (auto err = read_duration(source, t, "retention", where + ": retention", q.retention_ms))
    return err;
  if (auto err = read_integer(source, t, "max_message_size", where + ": max_message_size",
                              q.max_message_bytes))
    return err;
  if (auto err = read_integer(source, t, "max_receive_count", where + ": max_receive_count",
                              q.max_receive_count))
    return err;
  if (auto err = read_integer(source, t, "max_depth", where + ": max_depth", q.max_depth))
    return err;
  if (auto err =
          read_duration(source, t, "dedup_window", where + ": dedup_window", q.dedup_window_ms))
    return err;
  if (auto err =
          read_duration(source, t, "receive_wait", where + ": receive_wait", q.receive_wait_ms))
    return err;
  if (auto d = t.get("content_based_dedup")) {
    auto value = d->value<bool>();
    if (!value)
      return fail(source, *d, where + ": content_based_dedup must be true or false");
    q.content_based_dedup = *value;
  }
  if (auto f = t.get("fifo")) {
    auto value = f->value<bool>();
    if (!value)
      return fail(source, *f, where + ": fifo must be true or false");
    q.fifo = *value;
  }
  if (auto err =
          read_string(source, t, "dead_letter", where + ": dead_letter", q.dead_letter_target))
    return err;
  if (auto err = read_string(source, t, "dead_letter_queue", where + ": dead_letter_queue",
                             q.dead_letter_queue))
    return err;
  if (auto node = t.get("retry")) {
    auto retry = node->as_table();
    if (retry == nullptr)
      return fail(source, *node, where + ": retry must be a table { base, factor, cap }");
    if (auto err = check_keys(source, *retry, where + ": retry", {"base", "factor", "cap"}))
      return err;
    if (auto err = read_duration(source, *retry, "base", where + ": retry.base", q.retry.base_ms))
      return err;
    if (auto err = read_duration(source, *retry, "cap", where + ": retry.cap", q.retry.cap_ms))
      return err;
    if (auto f = retry->get("factor")) {
      auto value = f->value<double>();
      if (!value)
        return fail(source, *f, where + ": retry.factor must be a number");
      if (!std::isfinite(*value) || *value < 1.0)
        return fail(source, *f,
                    where + ": retry.factor " + number_text(*value) +
                        " is not a finite number >= 1");
      q.retry.factor = *value;
    }
  }
  if (auto err = validate(q))
    return fail(source, t, message_of(err));
  return q;
}

caf::expected<subscription> read_subscription(std::string_view source, const std::string& where,
                                              const toml::node& node) {
  auto t = node.as_table();
  if (t == nullptr)
    return fail(source, where + " must be a table { queue = \"...\", filter = '{...}' }");
  if (auto err = check_keys(
          source, *t, where,
          {"queue", "filter", "filter_scope", "raw", "dead_letter", "dead_letter_queue"}))
    return err;
  subscription s;
  if (auto err = read_string(source, *t, "queue", where + ": queue", s.queue))
    return err;
  if (s.queue.empty())
    return fail(source, where + ": queue is required");
  if (auto err = read_string(source, *t, "filter", where + ": filter", s.filter_policy))
    return err;
  std::string scope = "attributes";
  if (auto err = read_string(source, *t, "filter_scope", where + ": filter_scope", scope))
    return err;
  if (scope != "attributes" && scope != "body")
    return fail(source, where + ": filter_scope must be \"attributes\" or \"body\"");
  s.filter_on_body = scope == "body";
  if (auto r = t->get("raw")) {
    auto value = r->value<bool>();
    if (!value)
      return fail(source, where + ": raw must be true or false");
    s.raw = *value;
  }
  if (auto err =
          read_string(source, *t, "dead_letter", where + ": dead_letter", s.dead_letter_target))
    return err;
  if (auto err = read_string(source, *t, "dead_letter_queue", where + ": dead_letter_queue",
                             s.dead_letter_queue))
    return err;
  return s;
}

caf::expected<topic_config> read_topic(std::string_view source, const std::string& name,
                                       const toml::table& t) {
  topic_config topic;
  topic.name = name;
  auto where = "topic '" + name + "'";
  if (auto err = check_keys(source, t, where, {"subscriptions"}))
    return err;
  if (auto node = t.get("subscriptions")) {
    auto list = node->as_array();
    if (list == nullptr)
      return fail(source, where + ": subscriptions must be an array of tables");
    for (size_t i = 0; i < list->size(); ++i) {
      auto s = read_subscription(source, where + ": subscription " + std::to_string(i + 1),
                                 *list->get(i));
      if (!s)
        return std::move(s.error());
      topic.subscriptions.push_back(std::move(*s));
    }
  }
  if (auto err = validate(topic))
    return fail(source, message_of(err));
  return topic;
}

caf::expected<route_target> read_target(std::string_view source, const toml::table& t,
                                        const char* key, const std::string& where) {
  std::string text;
  if (auto err = read_string(source, t, key, where + ": " + key, text))
    return err;
  auto target = route_target::parse(text);
  if (!target)
    return fail(source, where + ": " + key + ": " + message_of(target.error()));
  return target;
}

caf::expected<router_config> read_router(std::string_view source, const std::string& name,
                                         const toml::table& t) {
  router_config router;
  router.name = name;
  auto where = "router '" + name + "'";
  if (auto err = check_keys(source, t, where, {"rules", "mode", "default", "dead_letter"}))
    return err;
  std::string mode = "first";
  if (auto err = read_string(source, t, "mode", where + ": mode", mode))
    return err;
  if (mode != "first" && mode != "all")
    return fail(source, where + ": mode must be \"first\" or \"all\"");
  router.all_match = mode == "all";
  if (t.get("default")) {
    auto target = read_target(source, t, "default", where);
    if (!target)
      return std::move(target.error());
    router.fallback = *target;
  }
  if (auto err =
          read_string(source, t, "dead_letter", where + ": dead_letter", router.dead_letter_target))
    return err;
  if (auto node = t.get("rules")) {
    auto list = node->as_array();
    if (list == nullptr)
      return fail(source,
                  where + ": rules must be an array of tables ([[routers." + name + ".rules]])");
    for (size_t i = 0; i < list->size(); ++i) {
      auto rule_where = where + ": rule " + std::to_string(i + 1);
      auto rt = list->get(i)->as_table();
      if (rt == nullptr)
        return fail(source, rule_where + " must be a table { match, to }");
      if (auto err = check_keys(source, *rt, rule_where, {"match", "scope", "to"}))
        return err;
      route_rule rule;
      if (auto err = read_string(source, *rt, "match", rule_where + ": match", rule.match))
        return err;
      std::string scope = "attributes";
      if (auto err = read_string(source, *rt, "scope", rule_where + ": scope", scope))
        return err;
      if (scope != "attributes" && scope != "body")
        return fail(source, rule_where + ": scope must be \"attributes\" or \"body\"");
      rule.match_body = scope == "body";
      if (!rt->get("to"))
        return fail(source, rule_where + ": to is required (e.g. \"queue:orders\")");
      auto to = read_target(source, *rt, "to", rule_where);
      if (!to)
        return std::move(to.error());
      rule.to = *to;
      router.rules.push_back(std::move(rule));
    }
  }
  if (auto err = validate(router))
    return fail(source, message_of(err));
  return router;
}

caf::expected<alarm_config> read_alarm(std::string_view source, const std::string& name,
                                       const toml::table& t) {
  alarm_config alarm;
  alarm.name = name;
  auto where = "alarm '" + name + "'";
  if (auto err = check_keys(
          source, t, where,
          {"entity", "metric", "threshold", "for", "topic", "check_every", "fire_when", "window"}))
    return err;
  for (const char* required : {"entity", "metric", "threshold", "topic"})
    if (!t.get(required))
      return fail(source, where + ": " + required + " is required");
  if (auto err = read_string(source, t, "entity", where + ": entity", alarm.entity))
    return err;
  if (auto err = read_string(source, t, "metric", where + ": metric", alarm.metric))
    return err;
  if (auto err = read_string(source, t, "topic", where + ": topic", alarm.topic))
    return err;
  auto threshold = t.get("threshold")->value<double>();
  if (!threshold)
    return fail(source, where + ": threshold must be a number");
  alarm.threshold = *threshold;
  if (auto err = read_duration(source, t, "for", where + ": for", alarm.for_ms))
    return err;
  if (auto err =
          read_duration(source, t, "check_every", where + ": check_every", alarm.check_every_ms))
    return err;
  std::string fire_when = "above";
  if (auto err = read_string(source, t, "fire_when", where + ": fire_when", fire_when))
    return err;
  if (fire_when != "above" && fire_when != "below")
    return fail(source, *t.get("fire_when"),
                where + ": fire_when '" + fire_when + "' is neither \"above\" nor \"below\"");
  alarm.below = fire_when == "below";
  if (auto err = read_duration(source, t, "window", where + ": window", alarm.window_ms))
    return err;
  if (auto err = validate(alarm))
    return fail(source, message_of(err));
  return alarm;
}

/// Reads [KEY.NAME] tables with `read` (source, name, table) into `out`.
template <class T, class Read>
caf::error read_tables(std::string_view source, const toml::table& root, const char* key,
                       const char* kind, const char* example, Read read, std::vector<T>& out) {
  auto node = root.get(key);
  if (node == nullptr)
    return {};
  auto t = node->as_table();
  if (t == nullptr)
    return fail(source,
                std::string{"["} + key + "] must hold one table per " + kind + ", e.g. " + example);
  for (const auto& [name, value] : *t) {
    auto entry = value.as_table();
    if (entry == nullptr)
      return fail(source, std::string{kind} + " '" + std::string{name.str()} + "' must be a table");
    auto parsed = read(source, std::string{name.str()}, *entry);
    if (!parsed)
      return std::move(parsed.error());
    out.push_back(std::move(*parsed));
  }
  return {};
}

} // namespace

caf::expected<node_config> parse_config(std::string_view text, std::string_view source) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    std::ostringstream where;
    where << "line " << e.source().begin.line << ", column " << e.source().begin.column;
    return fail(source, where.str() + ": " + std::string{e.description()});
  }
  node_config config;
  config.declared_in = std::string{source};
  if (auto err = check_keys(source, root, "top level",
                            {"node", "http", "queues", "topics", "routers", "alarms", "sagas"}))
    return err;
  if (auto http = root.get("http")) {
    auto t = http->as_table();
    if (t == nullptr)
      return fail(source, "[http] must be a table");
    if (auto err = check_keys(source, *t, "[http]", {"auth", "keys_file", "account"}))
      return err;
    if (auto err = read_string(source, *t, "account", "[http] account", config.aws_account))
      return err;
    if (!valid_aws_account(config.aws_account))
      return fail(source, *t->get("account"),
                  "[http] account must be twelve digits, not \"" + config.aws_account + "\"");
    if (auto err = read_string(source, *t, "auth", "[http] auth", config.http_auth.mode))
      return err;
    if (config.http_auth.mode != "none" && config.http_auth.mode != "sigv4")
      return fail(source, *t->get("auth"),
                  "[http] auth must be \"none\" or \"sigv4\", not \"" + config.http_auth.mode +
                      "\"");
    std::string keys_file;
    if (auto err = read_string(source, *t, "keys_file", "[http] keys_file", keys_file))
      return err;
    if (!keys_file.empty()) {
      // Relative to the file that names it.
      std::filesystem::path path{keys_file};
      if (path.is_relative() && source.find('<') == std::string_view::npos)
        path = std::filesystem::path{std::string{source}}.parent_path() / path;
      auto keys = read_access_keys(path.string());
      if (!keys)
        return fail(source, message_of(keys.error()));
      config.http_auth.keys = std::move(*keys);
    }
  }
  if (auto node = root.get("node")) {
    auto t = node->as_table();
    if (t == nullptr)
      return fail(source, "[node] must be a table");
    if (auto err = check_keys(source, *t, "[node]",
                              {"data_dir", "listen", "http", "log_level", "durable",
                               "worker_threads", "trace", "max_connections", "idle_timeout",
                               "frame_timeout", "max_frame_size", "max_incomplete_frames",
                               "min_free_disk", "queue_cache", "max_memory"}))
      return err;
    if (auto err = read_string(source, *t, "data_dir", "[node] data_dir", config.data_dir))
      return err;
    if (auto err = read_string(source, *t, "listen", "[node] listen", config.listen))
      return err;
    if (auto err = read_string(source, *t, "http", "[node] http", config.http))
      return err;
    if (auto err = read_string(source, *t, "log_level", "[node] log_level", config.log_level))
      return err;
    if (auto err = read_integer(source, *t, "worker_threads", "[node] worker_threads",
                                config.worker_threads))
      return err;
    auto& limits = config.endpoint;
    if (auto err = read_integer(source, *t, "max_connections", "[node] max_connections",
                                limits.max_connections))
      return err;
    if (auto err = read_duration(source, *t, "idle_timeout", "[node] idle_timeout",
                                 limits.idle_timeout_ms))
      return err;
    if (auto err = read_duration(source, *t, "frame_timeout", "[node] frame_timeout",
                                 limits.frame_timeout_ms))
      return err;
    if (auto err = read_integer(source, *t, "max_frame_size", "[node] max_frame_size",
                                limits.max_frame_bytes))
      return err;
    if (auto err = read_integer(source, *t, "max_incomplete_frames", "[node] max_incomplete_frames",
                                limits.max_incomplete_frame_bytes))
      return err;
    if (auto err = validate(limits))
      return fail(source, *t, message_of(err));
    if (auto err = read_integer(source, *t, "min_free_disk", "[node] min_free_disk",
                                config.min_free_disk_bytes))
      return err;
    if (auto err =
            read_integer(source, *t, "queue_cache", "[node] queue_cache", config.queue_cache_bytes))
      return err;
    if (auto err =
            read_integer(source, *t, "max_memory", "[node] max_memory", config.max_memory_bytes))
      return err;
    if (auto err = check_memory_limit(config.max_memory_bytes))
      return fail(source, *t->get("max_memory"), message_of(err));
    if (auto tr = t->get("trace")) {
      auto value = tr->value<bool>();
      if (!value)
        return fail(source, "[node] trace must be true or false");
      config.trace = *value;
    }
    if (auto d = t->get("durable")) {
      auto value = d->value<bool>();
      if (!value)
        return fail(source, "[node] durable must be true or false");
      config.durable = *value;
    }
  }
  if (auto err = read_tables(source, root, "queues", "queue", "[queues.orders]", read_queue,
                             config.queues))
    return err;
  if (auto err = read_tables(source, root, "topics", "topic", "[topics.orders]", read_topic,
                             config.topics))
    return err;
  if (auto err = read_tables(source, root, "routers", "router", "[routers.by-type]", read_router,
                             config.routers))
    return err;
  if (auto err = read_tables(source, root, "alarms", "alarm", "[alarms.dlq-depth]", read_alarm,
                             config.alarms))
    return err;
  if (auto err =
          read_tables(source, root, "sagas", "saga", "[sagas.order]", read_saga, config.sagas))
    return err;
  std::vector<router_config> all(config.routers.begin(), config.routers.end());
  if (auto err = check_for_loops(all))
    return fail(source, message_of(err));
  return config;
}

caf::expected<std::map<std::string, std::string>> read_access_keys(const std::string& path) {
  std::ifstream in{path};
  if (!in)
    return make_error(errc::invalid_argument, "access keys file '" + path + "' cannot be read");
  std::map<std::string, std::string> keys;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    std::istringstream words{line};
    std::string id, secret, extra;
    words >> id;
    if (id.empty() || id[0] == '#')
      continue;
    words >> secret >> extra;
    if (secret.empty() || !extra.empty())
      return make_error(errc::invalid_argument, "access keys file '" + path + "' line " +
                                                    std::to_string(number) +
                                                    ": expected ACCESS_KEY_ID SECRET_ACCESS_KEY");
    if (!keys.emplace(id, secret).second)
      return make_error(errc::invalid_argument, "access keys file '" + path + "' line " +
                                                    std::to_string(number) + ": key '" + id +
                                                    "' is listed twice");
  }
  return keys;
}

caf::error add_access_key_from_environment(http_auth_config& auth) {
  const char* id = std::getenv("MAILROOM_HTTP_ACCESS_KEY_ID");
  const char* secret = std::getenv("MAILROOM_HTTP_SECRET_ACCESS_KEY");
  if (!id && !secret)
    return {};
  if (!id || !secret || !*id || !*secret)
    return make_error(errc::invalid_argument,
                      std::string{"MAILROOM_HTTP_"} +
                          (id && *id ? "SECRET_ACCESS_KEY" : "ACCESS_KEY_ID") +
                          " is not set, but its partner is: set both or neither");
  auth.keys[id] = secret;
  return {};
}

caf::expected<node_config> load_config(const std::string& path) {
  std::ifstream in{path};
  if (!in)
    return make_error(errc::invalid_argument, "config file '" + path + "' cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), path);
}

} // namespace mailroom
