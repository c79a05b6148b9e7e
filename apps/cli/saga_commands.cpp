// `mailroom saga ls|show|start|cancel|stats`: sagas seen from the command line.
#include "commands.hpp"
#include "invocation.hpp"

#include "mailroom/duration.hpp"
#include "mailroom/error.hpp"

#include <iomanip>
#include <iostream>

namespace mailroom::cli {

namespace {

nlohmann::json to_json(const saga_summary& s) {
  return {{"id", s.id},
          {"definition", s.definition},
          {"version", s.version},
          {"status", std::string{to_string(s.status)}},
          {"current_step", s.current_step},
          {"started_at_ms", s.started_at_ms},
          {"updated_at_ms", s.updated_at_ms}};
}

nlohmann::json to_json(const saga_instance& s, const std::vector<std::string>& steps) {
  auto data = nlohmann::json::parse(s.data, nullptr, false);
  nlohmann::json timeline = nlohmann::json::array();
  for (const auto& a : s.timeline) {
    nlohmann::json attempts = nlohmann::json::array();
    for (const auto& t : a.attempts)
      attempts.push_back({{"number", t.number},
                          {"outcome", t.outcome.empty() ? "waiting" : t.outcome},
                          {"error", t.error},
                          {"sent_at_ms", t.sent_at_ms},
                          {"ended_at_ms", t.ended_at_ms},
                          {"command_id", t.command_id},
                          {"reply_id", t.reply_id}});
    timeline.push_back({{"step", steps[a.step]},
                        {"action", a.compensation ? "compensate" : "run"},
                        {"retry_at_ms", a.retry_at_ms},
                        {"attempts", std::move(attempts)}});
  }
  return {{"id", s.id},
          {"definition", s.definition},
          {"version", s.version},
          {"status", std::string{to_string(s.status)}},
          {"idempotency_key", s.idempotency_key},
          {"data", data.is_discarded() ? nlohmann::json(s.data) : data},
          {"error", s.error},
          {"cancelled", s.cancelled},
          {"completed_steps", s.completed_steps},
          {"started_at_ms", s.started_at_ms},
          {"updated_at_ms", s.updated_at_ms},
          {"timeline", std::move(timeline)}};
}

int run_saga_ls(data_plane& c, const saga_filter& filter, bool json) {
  auto sagas = c.sagas(filter);
  if (!sagas)
    return print_error(sagas.error());
  if (!json && !sagas->empty())
    std::cout << std::left << std::setw(38) << "ID" << std::setw(14) << "DEFINITION"
              << std::setw(14) << "STATUS" << std::setw(20) << "STEP"
              << "UPDATED\n";
  for (const auto& s : *sagas) {
    if (json) {
      std::cout << json_line(to_json(s)) << "\n";
      continue;
    }
    std::cout << std::left << std::setw(38) << s.id << std::setw(14)
              << (s.definition + " v" + std::to_string(s.version)) << std::setw(14)
              << to_string(s.status) << std::setw(20)
              << (s.current_step.empty() ? "-" : s.current_step)
              << format_timestamp_ms(s.updated_at_ms) << "\n";
  }
  return ok;
}

void print_timeline(const saga_instance& s, const std::vector<std::string>& steps) {
  std::cout << "timeline:\n";
  for (const auto& a : s.timeline) {
    for (const auto& t : a.attempts) {
      std::cout << "  " << std::left << std::setw(22) << steps[a.step] << std::setw(12)
                << (a.compensation ? "compensate" : "run") << "attempt " << t.number << "  "
                << std::setw(10) << (t.outcome.empty() ? "waiting" : t.outcome)
                << format_timestamp_ms(t.sent_at_ms);
      if (t.ended_at_ms != 0)
        std::cout << "  (" << t.ended_at_ms - t.sent_at_ms << " ms)";
      std::cout << "\n";
      if (!t.error.empty())
        std::cout << "      error: " << t.error << "\n";
      if (!t.command_id.empty())
        std::cout << "      command " << t.command_id
                  << (t.reply_id.empty() ? "" : "  reply " + t.reply_id) << "\n";
    }
    if (a.retry_at_ms != 0)
      std::cout << "      next attempt at " << format_timestamp_ms(a.retry_at_ms) << "\n";
  }
}

int run_saga_show(data_plane& c, const std::string& id, bool json) {
  auto shown = c.saga(id);
  if (!shown)
    return print_error(shown.error());
  const auto& s = *shown;
  auto definition = c.saga_definition_of(s.definition, s.version);
  if (!definition)
    return print_error(definition.error());
  std::vector<std::string> steps;
  for (const auto& step : definition->steps)
    steps.push_back(step.name);
  for (const auto& a : s.timeline) // a step the definition lacks would index past `steps`
    if (a.step >= steps.size())
      return print_error(make_error(errc::invalid_argument, "the node sent a saga naming step " +
                                                                std::to_string(a.step) + " of " +
                                                                std::to_string(steps.size())));
  if (json) {
    std::cout << json_line(to_json(s, steps)) << "\n";
    return ok;
  }
  std::cout << "saga " << s.id << "  " << s.definition << " v" << s.version << "  "
            << to_string(s.status) << "\n";
  std::cout << "started " << format_timestamp_ms(s.started_at_ms) << ", updated "
            << format_timestamp_ms(s.updated_at_ms) << "\n";
  if (!s.idempotency_key.empty())
    std::cout << "idempotency key: " << s.idempotency_key << "\n";
  if (!s.error.empty())
    std::cout << "error: " << s.error << "\n";
  std::cout << "data: " << s.data << "\n";
  print_timeline(s, steps);
  return ok;
}

int run_saga_start(data_plane& c, const std::string& definition, const std::string& data,
                   const std::string& key, bool json) {
  auto id = c.start_saga(definition, data, key);
  if (!id)
    return print_error(id.error());
  std::cout << (json ? json_line({{"id", *id}}) : *id) << "\n";
  return ok;
}

int run_saga_cancel(data_plane& c, const std::string& id) {
  if (auto err = c.cancel_saga(id))
    return print_error(err);
  std::cout << "saga " << id << " cancelled: compensating\n";
  return ok;
}

constexpr std::string_view stats_fields[] = {"running",
                                             "compensating",
                                             "parked",
                                             "started",
                                             "completed",
                                             "compensated",
                                             "compensations_sent",
                                             "step_replies",
                                             "step_latency_p50_ms",
                                             "step_latency_p99_ms"};

int run_saga_stats(data_plane& c, const std::string& definition, bool json) {
  auto m = c.saga_statistics(definition);
  if (!m)
    return print_error(m.error());
  nlohmann::json j{{"running", m->running},
                   {"compensating", m->compensating},
                   {"parked", m->parked},
                   {"started", m->started},
                   {"completed", m->completed},
                   {"compensated", m->compensated},
                   {"compensations_sent", m->compensations_sent},
                   {"step_replies", m->step_replies},
                   {"step_latency_p50_ms", m->step_latency_p50_ms},
                   {"step_latency_p99_ms", m->step_latency_p99_ms}};
  if (json)
    std::cout << json_line(j) << "\n";
  else
    print_aligned(j, stats_fields);
  return ok;
}

struct ls_options {
  std::string status;
  std::string definition;
  uint32_t max = 100;
};

void add_saga_ls(CLI::App& saga, invocation& inv) {
  auto* cmd = saga.add_subcommand("ls", "list sagas, most recently updated first");
  auto o = std::make_shared<ls_options>();
  cmd->add_option("--status", o->status, "RUNNING, COMPLETED, COMPENSATING, COMPENSATED or PARKED");
  cmd->add_option("--definition", o->definition, "only this saga definition");
  cmd->add_option("--max", o->max, "at most this many")
      ->capture_default_str()
      ->check(CLI::Range(1, 10'000));
  on_chosen(cmd, inv, [o, &inv]() -> std::optional<action> {
    saga_filter filter;
    filter.definition = o->definition;
    filter.max = o->max;
    if (!o->status.empty()) {
      filter.status = parse_saga_status(o->status);
      if (!filter.status) {
        print_usage_error("--status '" + o->status +
                          "' is not one of RUNNING, COMPLETED, COMPENSATING, COMPENSATED, PARKED");
        return std::nullopt;
      }
    }
    return [filter, &inv](client& cl) { return run_saga_ls(cl, filter, inv.json); };
  });
}

struct start_options {
  std::string definition;
  std::string data = "{}";
  std::string key;
};

void add_saga_start(CLI::App& saga, invocation& inv) {
  auto* cmd = saga.add_subcommand("start", "start a saga; prints its id once journaled");
  auto o = std::make_shared<start_options>();
  cmd->add_option("DEFINITION", o->definition, "saga definition name")->required();
  cmd->add_option("--data", o->data, "the saga's data: a JSON object")->capture_default_str();
  cmd->add_option("--key", o->key, "idempotency key: starting again gives the same saga");
  on_chosen(cmd, inv, [o, &inv]() -> std::optional<action> {
    auto data = nlohmann::json::parse(o->data, nullptr, false);
    if (!data.is_object()) {
      print_usage_error("--data must be a JSON object, e.g. '{\"customer\":\"c-1\"}'");
      return std::nullopt;
    }
    return [o, &inv](client& cl) {
      return run_saga_start(cl, o->definition, o->data, o->key, inv.json);
    };
  });
}

} // namespace

void add_saga_commands(CLI::App& app, invocation& inv) {
  auto* saga = app.add_subcommand("saga", "start, list, inspect and cancel sagas");
  saga->require_subcommand(1);
  add_saga_ls(*saga, inv);
  add_saga_start(*saga, inv);
  auto* show = saga->add_subcommand("show", "a saga's state, data and timeline");
  auto show_id = std::make_shared<std::string>();
  show->add_option("ID", *show_id, "saga id")->required();
  on_chosen(show, inv,
            always([show_id, &inv](client& cl) { return run_saga_show(cl, *show_id, inv.json); }));
  auto* cancel = saga->add_subcommand("cancel", "cancel a running saga: it compensates");
  auto cancel_id = std::make_shared<std::string>();
  cancel->add_option("ID", *cancel_id, "saga id")->required();
  on_chosen(cancel, inv,
            always([cancel_id](client& cl) { return run_saga_cancel(cl, *cancel_id); }));
  auto* stats = saga->add_subcommand("stats", "sagas by state, step latency, compensations");
  auto definition = std::make_shared<std::string>();
  stats->add_option("--definition", *definition, "one definition (default: all)");
  on_chosen(stats, inv, always([definition, &inv](client& cl) {
              return run_saga_stats(cl, *definition, inv.json);
            }));
}

} // namespace mailroom::cli
