// mailroomd: one Mailroom node. Wires the configuration, the node and its client endpoint
// together, then waits for SIGTERM or SIGINT and shuts down cleanly.
//
//   mailroomd [--config FILE] [--data DIR] [--listen HOST:PORT] [--http HOST:PORT]
//             [--log-level LEVEL]
//
// Flags override the file; with no file the embedded default below applies.
#include "../serve.hpp"
#include "mailroom/config.hpp"
#include "mailroom/error.hpp"
#include "mailroom/logging.hpp"
#include "mailroom/node.hpp"

#include <CLI/CLI.hpp>

#include <iostream>

namespace {

// The configuration mailroomd runs on when given none.
constexpr const char* embedded_default = R"(
[node]
data_dir = "./mailroom-data"
listen = "127.0.0.1:7411"
http = "127.0.0.1:7480"
log_level = "info"
durable = true
)";

} // namespace

int main(int argc, char** argv) {
  auto signals = mailroom::apps::block_shutdown_signals();
  CLI::App app{"mailroomd: a Mailroom node"};
  std::string config_file, data_dir, listen, http, log_level;
  app.add_option("--config", config_file, "TOML configuration file")->check(CLI::ExistingFile);
  app.add_option("--data", data_dir, "data directory (default ./mailroom-data)");
  app.add_option("--listen", listen, "client endpoint HOST:PORT (default 127.0.0.1:7411)");
  app.add_option("--http", http,
                 "SQS/SNS-compatible HTTP API HOST:PORT (default 127.0.0.1:7480; \"\" for none)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error, critical or off");
  bool trace = false;
  app.add_flag("--trace", trace, "journal each message's steps for `mailroom trace`");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  }

  auto config = config_file.empty() ? mailroom::parse_config(embedded_default, "<embedded>")
                                    : mailroom::load_config(config_file);
  if (!config) {
    std::cerr << "mailroomd: " << mailroom::message_of(config.error()) << "\n";
    return 1;
  }
  if (!data_dir.empty())
    config->data_dir = data_dir;
  if (!listen.empty())
    config->listen = listen;
  if (app.count("--http") > 0)
    config->http = http;
  if (!log_level.empty())
    config->log_level = log_level;
  if (trace)
    config->trace = true;
  if (auto err = mailroom::add_access_key_from_environment(config->http_auth)) {
    std::cerr << "mailroomd: " << mailroom::message_of(err) << "\n";
    return 1;
  }
  if (auto err = mailroom::set_log_level(config->log_level)) {
    std::cerr << "mailroomd: " << mailroom::message_of(err) << "\n";
    return 1;
  }

  auto node = mailroom::node::open(*config);
  if (!node) {
    std::cerr << "mailroomd: " << mailroom::message_of(node.error()) << "\n";
    return 1;
  }
  return mailroom::apps::serve(*node, config->listen, "mailroomd", signals);
}
