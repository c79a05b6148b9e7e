// `mailroom router ...` and `mailroom alarm ...`: create (or replace), list, show and delete the
// two entity kinds that had only the C++ API and TOML. The node validates what is sent and
// names what is wrong (a policy, a target, a metric), so the CLI checks only what it parses.
#include "commands.hpp"
#include "invocation.hpp"

#include "mailroom/duration.hpp"
#include "mailroom/error.hpp"

#include <array>
#include <iomanip>
#include <iostream>

namespace mailroom::cli {

namespace {

// --- routers ---------------------------------------------------------------------------------

nlohmann::json to_json(const router_config& r) {
  auto rules = nlohmann::json::array();
  for (const auto& rule : r.rules)
    rules.push_back({{"to", rule.to.to_string()},
                     {"match", rule.match},
                     {"scope", rule.match_body ? "body" : "attributes"}});
  return {
      {"name", r.name},
      {"all_match", r.all_match},
      {"default", r.fallback ? r.fallback->to_string() : ""},
      {"dead_letter", r.dead_letter_target.empty() ? r.name + "-unroutable" : r.dead_letter_target},
      {"rules", rules}};
}

constexpr std::array<std::string_view, 4> router_fields = {"name", "all_match", "default",
                                                           "dead_letter"};

int run_router_create(catalog& c, const router_config& config) {
  return exit_code_of(c.put_router(config));
}

int run_router_show(catalog& c, const std::string& name, bool json) {
  auto r = c.router_configuration(name);
  if (!r)
    return print_error(r.error());
  auto j = to_json(*r);
  if (json) {
    std::cout << json_line(j) << "\n";
    return ok;
  }
  print_aligned(j, router_fields);
  for (size_t i = 0; i < r->rules.size(); ++i) {
    const auto& rule = r->rules[i];
    std::cout << "  " << i + 1 << ". " << std::left << std::setw(24) << rule.to.to_string()
              << (rule.match_body ? "body " : "attributes ") << rule.match << "\n";
  }
  return ok;
}

struct router_options {
  router_config config; ///< name, all_match and the dead-letter sink bind here
  std::vector<std::string> rules;
  std::string fallback;
  bool match_body = false;
};

void add_router_create(CLI::App& router, invocation& inv) {
  auto* cmd = router.add_subcommand(
      "create", "create or replace a content-based router (its targets must exist)");
  auto o = std::make_shared<router_options>();
  cmd->add_option("NAME", o->config.name, "router name")->required();
  cmd->add_option("--rule", o->rules,
                  "TARGET=POLICY, in order: messages the SNS filter policy matches go to TARGET "
                  "(queue:NAME, topic:NAME or router:NAME)");
  cmd->add_flag("--match-body", o->match_body,
                "the rules' policies match fields of a JSON body, not attributes");
  cmd->add_flag("--all-match", o->config.all_match,
                "send to every matching rule's target, not only the first");
  cmd->add_option("--default", o->fallback, "TARGET for messages no rule takes");
  cmd->add_option("--dead-letter", o->config.dead_letter_target,
                  "sink for unroutable messages (default NAME-unroutable)");
  on_chosen(cmd, inv, [o]() -> std::optional<action> {
    auto config = o->config;
    for (const auto& text : o->rules) {
      auto eq = text.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == text.size()) {
        print_usage_error("--rule '" + text +
                          R"(' is not TARGET=POLICY, e.g. 'queue:big={"size":["large"]}')");
        return std::nullopt;
      }
      auto to = route_target::parse(text.substr(0, eq));
      if (!to) {
        print_usage_error("--rule: " + message_of(to.error()));
        return std::nullopt;
      }
      config.rules.push_back({text.substr(eq + 1), o->match_body, *to});
    }
    if (!o->fallback.empty()) {
      auto to = route_target::parse(o->fallback);
      if (!to) {
        print_usage_error("--default: " + message_of(to.error()));
        return std::nullopt;
      }
      config.fallback = *to;
    }
    return [config](client& cl) { return run_router_create(cl, config); };
  });
}

// --- alarms ----------------------------------------------------------------------------------

nlohmann::json to_json(const alarm_config& a, const alarm_status& s) {
  return {{"name", a.name},
          {"entity", a.entity},
          {"metric", a.metric},
          {"threshold", a.threshold},
          {"fire_when", a.below ? "below" : "above"},
          {"for", format_duration_ms(a.for_ms)},
          {"topic", a.topic},
          {"check_every", format_duration_ms(a.check_every_ms)},
          {"window", format_duration_ms(a.window_ms)},
          {"firing", s.firing},
          {"value", s.value},
          {"since_ms", s.since_ms}};
}

constexpr std::array<std::string_view, 12> alarm_fields = {
    "name",  "entity",      "metric", "threshold", "fire_when", "for",
    "topic", "check_every", "window", "firing",    "value",     "since_ms"};

int run_alarm_create(catalog& c, const alarm_config& config) {
  return exit_code_of(c.put_alarm(config));
}

int run_alarm_show(catalog& c, const std::string& name, bool json) {
  auto config = c.alarm_configuration(name);
  if (!config)
    return print_error(config.error());
  auto state = c.alarm_state_of(name);
  if (!state)
    return print_error(state.error());
  auto j = to_json(*config, *state);
  if (json)
    std::cout << json_line(j) << "\n";
  else
    print_aligned(j, alarm_fields);
  return ok;
}

struct alarm_options {
  alarm_config config; ///< its defaults are the defaults
  std::string for_text = format_duration_ms(config.for_ms);
  std::string every_text = format_duration_ms(config.check_every_ms);
  std::string window_text = format_duration_ms(config.window_ms);
  double above = 0, below = 0;
  CLI::Option* above_given = nullptr;
  CLI::Option* below_given = nullptr;
};

void add_alarm_create(CLI::App& alarm, invocation& inv) {
  auto* cmd = alarm.add_subcommand(
      "create", "create or replace an alarm: publishes to a topic while a metric stays high");
  auto o = std::make_shared<alarm_options>();
  auto& c = o->config;
  cmd->add_option("NAME", c.name, "alarm name")->required();
  cmd->add_option("--on", c.entity, "what it watches: queue:NAME or sink:NAME")->required();
  cmd->add_option("--metric", c.metric,
                  "queue: visible, in_flight, delayed, oldest_age_ms, or the counters sent, "
                  "received, acked, dead_lettered (their increase over --window); sink: depth")
      ->required();
  // "nan" or "inf" parse as doubles; the node refuses them, naming the alarm, as it does for
  // TOML and the C++ API.
  o->above_given = cmd->add_option("--above", o->above, "fires while the metric is above this");
  o->below_given = cmd->add_option("--below", o->below, "... or while it is below this");
  o->above_given->excludes(o->below_given);
  cmd->add_option("--window", o->window_text, "counters: the window of their increase")
      ->capture_default_str();
  cmd->add_option("--for", o->for_text, "... continuously for this long")->capture_default_str();
  cmd->add_option("--topic", c.topic, "where alerts and resolves are published")->required();
  cmd->add_option("--every", o->every_text, "how often the metric is read")->capture_default_str();
  on_chosen(cmd, inv, [o]() -> std::optional<action> {
    auto config = o->config;
    config.below = o->below_given->count() > 0;
    if (!config.below && o->above_given->count() == 0) {
      print_usage_error("alarm '" + config.name + "': --above or --below is required");
      return std::nullopt;
    }
    config.threshold = config.below ? o->below : o->above;
    auto for_ms = parse_duration(o->for_text, "alarm '" + config.name + "': --for");
    auto every_ms = parse_duration(o->every_text, "alarm '" + config.name + "': --every");
    auto window_ms = parse_duration(o->window_text, "alarm '" + config.name + "': --window");
    if (!for_ms || !every_ms || !window_ms)
      return std::nullopt;
    config.for_ms = *for_ms;
    config.check_every_ms = *every_ms;
    config.window_ms = *window_ms;
    return [config](client& cl) { return run_alarm_create(cl, config); };
  });
}

} // namespace

void add_router_commands(CLI::App& app, invocation& inv) {
  auto* router = app.add_subcommand("router", "create, list, show and delete routers");
  router->require_subcommand(1);
  add_router_create(*router, inv);
  auto* ls = router->add_subcommand("ls", "list routers");
  on_chosen(ls, inv,
            always([&inv](client& cl) { return print_names(cl.list_routers(), inv.json); }));
  add_named_command(
      *router, inv, "show", "a router's rules, default and sink", "router",
      [&inv](client& cl, const std::string& name) { return run_router_show(cl, name, inv.json); });
  add_named_command(
      *router, inv, "delete", "delete a router (its targets stay)", "router",
      [](client& cl, const std::string& name) { return exit_code_of(cl.delete_router(name)); });
}

void add_alarm_commands(CLI::App& app, invocation& inv) {
  auto* alarm = app.add_subcommand("alarm", "create, list, show and delete alarms");
  alarm->require_subcommand(1);
  add_alarm_create(*alarm, inv);
  auto* ls = alarm->add_subcommand("ls", "list alarms");
  on_chosen(ls, inv,
            always([&inv](client& cl) { return print_names(cl.list_alarms(), inv.json); }));
  add_named_command(
      *alarm, inv, "show", "an alarm's rule and whether it fires now", "alarm",
      [&inv](client& cl, const std::string& name) { return run_alarm_show(cl, name, inv.json); });
  add_named_command(
      *alarm, inv, "delete", "delete an alarm", "alarm",
      [](client& cl, const std::string& name) { return exit_code_of(cl.delete_alarm(name)); });
}

} // namespace mailroom::cli
