// mailroom: the command-line client of a node's client endpoint.
//
//   mailroom [--node HOST:PORT] [--json] COMMAND ...     (see `mailroom --help`)
//
// Parses everything first, then connects: a usage error never touches the network.
#include "commands.hpp"

#include "mailroom/client_endpoint.hpp"
#include "mailroom/error.hpp"
#include "mailroom/logging.hpp"

#include <CLI/CLI.hpp>

#include <cstdlib>
#include <functional>
#include <iostream>

using namespace mailroom;
using namespace mailroom::cli;

namespace {

/// A parsed command: runs against a connected client, returns the exit code.
using action = std::function<int(client&)>;

std::string default_node() {
  const char* env = std::getenv("MAILROOM_NODE");
  return env != nullptr && *env != '\0' ? env : "127.0.0.1:" + std::to_string(default_client_port);
}

struct queue_options {
  std::string name, visibility, delay, retention, retry_base, retry_cap, dead_letter;
  uint32_t max_size = 0, max_receive_count = 0;
  double retry_factor = 0;
};

/// Turns `queue create` options into a config; false (after printing) on bad input.
bool to_config(const queue_options& o, queue_config& c) {
  c.name = o.name;
  auto what = [&](const char* field) { return "queue '" + o.name + "': " + field; };
  auto duration = [&](const std::string& text, const char* field, int64_t& out) {
    return text.empty() || parse_duration(text, what(field), out);
  };
  if (!duration(o.visibility, "visibility timeout", c.visibility_timeout_ms) ||
      !duration(o.delay, "delay", c.delay_ms) ||
      !duration(o.retention, "retention", c.retention_ms) ||
      !duration(o.retry_base, "retry base", c.retry.base_ms) ||
      !duration(o.retry_cap, "retry cap", c.retry.cap_ms))
    return false;
  if (o.retry_factor != 0)
    c.retry.factor = o.retry_factor;
  if (o.max_size != 0)
    c.max_message_bytes = o.max_size;
  c.max_receive_count = o.max_receive_count;
  c.dead_letter_target = o.dead_letter;
  if (auto err = validate(c)) {
    usage_error(message_of(err));
    return false;
  }
  return true;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"mailroom: command-line client of a Mailroom node"};
  app.require_subcommand(1);
  app.fallthrough();
  std::string node = default_node(), log_level;
  bool json = false;
  app.add_option("--node", node, "node HOST:PORT (default $MAILROOM_NODE or 127.0.0.1:7411)");
  app.add_flag("--json", json, "one JSON object per line");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error, critical, off");
  action run;
  int early_exit = -1; // set by a command that fails validation after parsing

  // queue ...
  auto* queue = app.add_subcommand("queue", "create, list, inspect, purge and delete queues");
  queue->require_subcommand(1);
  queue_options qo;
  auto* create = queue->add_subcommand("create", "create a queue");
  create->add_option("NAME", qo.name)->required();
  create->add_option("--visibility-timeout", qo.visibility, "lease per delivery (30s)");
  create->add_option("--delay", qo.delay, "delivery delay (0s)");
  create->add_option("--retention", qo.retention, "message retention (4d)");
  create->add_option("--max-size", qo.max_size, "max message bytes (262144)");
  create->add_option("--max-receive-count", qo.max_receive_count,
                     "deliveries before dead-lettering");
  create->add_option("--dead-letter", qo.dead_letter, "dead-letter sink");
  create->add_option("--retry-base", qo.retry_base, "first retry delay (1s)");
  create->add_option("--retry-cap", qo.retry_cap, "longest retry delay (5m)");
  create->add_option("--retry-factor", qo.retry_factor, "backoff growth (2)");
  create->callback([&] {
    queue_config c;
    if (!to_config(qo, c))
      early_exit = usage;
    run = [c](client& cl) { return queue_create(cl, c); };
  });
  queue->add_subcommand("ls", "list queues")->callback([&] {
    run = [&](client& cl) { return queue_ls(cl, json); };
  });
  std::string queue_name;
  auto* stats = queue->add_subcommand("stats", "a queue's depth and counters");
  stats->add_option("NAME", queue_name)->required();
  stats->callback([&] { run = [&](client& cl) { return queue_stats_cmd(cl, queue_name, json); }; });
  auto* purge = queue->add_subcommand("purge", "remove every message of a queue");
  purge->add_option("NAME", queue_name)->required();
  purge->callback([&] { run = [&](client& cl) { return queue_purge(cl, queue_name); }; });
  auto* del = queue->add_subcommand("delete", "delete a queue and its messages");
  del->add_option("NAME", queue_name)->required();
  del->callback([&] { run = [&](client& cl) { return queue_delete(cl, queue_name); }; });

  // send
  auto* send_cmd = app.add_subcommand("send", "send a message (BODY '-': one per stdin line)");
  std::string body, delay, dedup_id, correlation_id, causation_id;
  std::vector<std::string> attrs;
  send_cmd->add_option("QUEUE", queue_name)->required();
  send_cmd->add_option("BODY", body)->required();
  send_cmd->add_option("--attr", attrs, "attribute KEY=VALUE (repeatable)");
  send_cmd->add_option("--delay", delay, "delivery delay, up to 15m");
  send_cmd->add_option("--dedup-id", dedup_id, "producer idempotency key");
  send_cmd->add_option("--correlation-id", correlation_id, "request, fan-out or saga id");
  send_cmd->add_option("--causation-id", causation_id, "id of the message that caused this one");
  send_cmd->callback([&] {
    outgoing_message proto;
    proto.dedup_id = dedup_id;
    proto.correlation_id = correlation_id;
    proto.causation_id = causation_id;
    if (!parse_attributes(attrs, proto.attributes) ||
        (!delay.empty() && !parse_duration(delay, "delay", proto.delay_ms)))
      early_exit = usage;
    run = [&, proto](client& cl) { return send(cl, queue_name, body, proto, json); };
  });

  // recv
  auto* recv_cmd = app.add_subcommand("recv", "receive messages under a lease");
  uint32_t max = 1;
  std::string wait = "0s", vis;
  bool ack_after = false;
  recv_cmd->add_option("QUEUE", queue_name)->required();
  recv_cmd->add_option("--max", max, "at most N messages (1)")->check(CLI::Range(1, 10000));
  recv_cmd->add_option("--wait", wait, "long-poll up to 20s (0s)");
  recv_cmd->add_option("--visibility", vis, "lease (the queue's visibility timeout)");
  recv_cmd->add_flag("--ack", ack_after, "ack what was received");
  recv_cmd->callback([&] {
    receive_request r{max, 0, -1};
    if (!parse_duration(wait, "wait", r.wait_ms) ||
        (!vis.empty() && !parse_duration(vis, "visibility", r.visibility_ms)))
      early_exit = usage;
    run = [&, r](client& cl) { return recv(cl, queue_name, r, ack_after, json); };
  });

  // ack, nack, visibility
  std::vector<std::string> receipts;
  auto* ack_cmd = app.add_subcommand("ack", "acknowledge (delete) delivered messages");
  ack_cmd->add_option("QUEUE", queue_name)->required();
  ack_cmd->add_option("RECEIPT", receipts)->required();
  ack_cmd->callback([&] { run = [&](client& cl) { return ack(cl, queue_name, receipts); }; });

  auto* nack_cmd = app.add_subcommand("nack", "give a delivery back: retry later or dead-letter");
  std::string receipt, retry_after, dead_reason, error_text;
  nack_cmd->add_option("QUEUE", queue_name)->required();
  nack_cmd->add_option("RECEIPT", receipt)->required();
  auto* ra = nack_cmd->add_option("--retry-after", retry_after, "retry after D (default: backoff)");
  nack_cmd->add_option("--dead-letter", dead_reason, "straight to the dead-letter sink, why")
      ->excludes(ra);
  nack_cmd->add_option("--error", error_text, "error text for the death record");
  nack_cmd->callback([&] {
    nack_request n{receipt, -1, dead_reason, error_text};
    if (!retry_after.empty() && !parse_duration(retry_after, "retry-after", n.retry_after_ms))
      early_exit = usage;
    run = [&, n](client& cl) { return nack(cl, queue_name, n); };
  });

  auto* vis_cmd = app.add_subcommand("visibility", "extend (or with 0s release) a lease");
  std::string vis_duration;
  vis_cmd->add_option("QUEUE", queue_name)->required();
  vis_cmd->add_option("RECEIPT", receipt)->required();
  vis_cmd->add_option("DURATION", vis_duration)->required();
  vis_cmd->callback([&] {
    int64_t ms = 0;
    if (!parse_duration(vis_duration, "visibility", ms))
      early_exit = usage;
    run = [&, ms](client& cl) { return visibility(cl, queue_name, receipt, ms); };
  });

  // dlq ...
  auto* dlq = app.add_subcommand("dlq", "inspect, redrive and purge dead-letter sinks");
  dlq->require_subcommand(1);
  std::string sink;
  uint32_t list_max = 100;
  auto* dlq_list = dlq->add_subcommand("ls", "list dead messages without consuming them");
  dlq_list->add_option("NAME", sink)->required();
  dlq_list->add_option("--max", list_max, "at most N (100)");
  dlq_list->callback([&] { run = [&](client& cl) { return dlq_ls(cl, sink, list_max, json); }; });
  auto* redrive = dlq->add_subcommand("redrive", "move dead messages back to a queue");
  redrive_request rr;
  std::string filter_attr;
  redrive->add_option("NAME", sink)->required();
  redrive->add_option("--to", rr.to, "target queue (default: each message's source)");
  redrive->add_option("--rate", rr.rate_per_s, "messages per second (0: unlimited)");
  redrive->add_flag("--dry-run", rr.dry_run, "show what would move");
  redrive->add_option("--reason", rr.filter.reason, "only this death reason");
  redrive->add_option("--source", rr.filter.source, "only from this queue");
  redrive->add_option("--attr", filter_attr, "only with attribute KEY=VALUE");
  redrive->add_option("--error-contains", rr.filter.error_contains, "only errors with TEXT");
  redrive->callback([&] {
    if (!filter_attr.empty()) {
      attribute_list a;
      if (!parse_attributes({filter_attr}, a))
        early_exit = usage;
      else
        rr.filter.attribute_key = a[0].first, rr.filter.attribute_value = a[0].second;
    }
    run = [&](client& cl) { return dlq_redrive(cl, sink, rr, json); };
  });
  auto* dlq_purge_cmd = dlq->add_subcommand("purge", "delete every dead message of a sink");
  dlq_purge_cmd->add_option("NAME", sink)->required();
  dlq_purge_cmd->callback([&] { run = [&](client& cl) { return dlq_purge(cl, sink); }; });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? ok : usage;
  }
  if (early_exit >= 0)
    return early_exit;
  if (!log_level.empty())
    if (auto err = set_log_level(log_level))
      return usage_error(message_of(err));
  auto c = client::connect(node);
  if (!c)
    return fail(c.error());
  return run(**c);
}
