// The CLI's command plumbing, shared by the files that register commands: the global options
// and the planner of the one leaf command chosen (see main.cpp for the three steps).
#pragma once

#include "mailroom/client.hpp"

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace mailroom::cli {

/// A checked command, ready to run against a connected client; returns the exit code.
using action = std::function<int(client&)>;

/// Turns the chosen command's parsed options into an action, or prints a usage error and gives
/// nullopt. Runs after CLI11 has finished: CLI11 calls subcommand callbacks before it checks
/// required options and --help, so checking inside a callback could report the wrong problem.
using planner = std::function<std::optional<action>()>;

/// The global options, and the planner of the one leaf command that was chosen.
struct invocation {
  std::string node;
  std::string log_level;
  bool json = false;
  planner plan;
};

/// Makes `plan` the one to run when `cmd` is the subcommand on the command line.
inline void on_chosen(CLI::App* cmd, invocation& inv, planner plan) {
  cmd->callback([&inv, plan = std::move(plan)] { inv.plan = plan; });
}

/// For commands with nothing to check beyond what CLI11 checked.
inline planner always(action run) {
  return [run = std::move(run)]() -> std::optional<action> { return run; };
}

/// `KIND VERB NAME` (queue stats, topic show, router delete, ...): a name and nothing else.
inline void add_named_command(CLI::App& parent, invocation& inv, const std::string& name,
                              const std::string& help, const std::string& what,
                              std::function<int(client&, const std::string&)> run) {
  auto* cmd = parent.add_subcommand(name, help);
  auto entity = std::make_shared<std::string>();
  cmd->add_option("NAME", *entity, what + " name")->required();
  on_chosen(cmd, inv, always([entity, run](client& cl) { return run(cl, *entity); }));
}

/// `mailroom saga ls|show|start|cancel|stats` (saga_commands.cpp).
void add_saga_commands(CLI::App& app, invocation& inv);

/// `mailroom router create|ls|show|delete` and `mailroom alarm ...` (router_alarm_commands.cpp).
void add_router_commands(CLI::App& app, invocation& inv);
void add_alarm_commands(CLI::App& app, invocation& inv);

} // namespace mailroom::cli
