// mailroom: the command-line client of a node's client endpoint.
//
//   mailroom [--node HOST:PORT] [--json] [--log-level LEVEL] COMMAND ...  (see `mailroom --help`)
//
// Three steps, in order: CLI11 parses the whole command line; the chosen command checks what
// CLI11 cannot (durations, attributes) and becomes an action; only then does the client
// connect and run it. So a usage error never touches the network.
#include "commands.hpp"
#include "invocation.hpp"

#include "mailroom/client_endpoint.hpp"
#include "mailroom/duration.hpp"
#include "mailroom/error.hpp"
#include "mailroom/logging.hpp"

#include <CLI/CLI.hpp>

#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>

using namespace mailroom;
using namespace mailroom::cli;

namespace {

std::string default_node() {
  const char* env = std::getenv("MAILROOM_NODE");
  if (env != nullptr && *env != '\0')
    return env;
  return "127.0.0.1:" + std::to_string(default_client_port);
}

// --- queue ---------------------------------------------------------------------------------------

/// Durations are read as text and parsed after CLI11, to report them in mailroom's own words.
/// They start as the rendered defaults, so help shows them and an empty value is refused.
/// CLI11 reads "-1" into an unsigned field as 2^64-1 (for --max-depth, a limit of nothing).
const CLI::Validator non_negative_integer{[](std::string& text) {
                                            return text.find('-') == std::string::npos
                                                       ? std::string{}
                                                       : "'" + text +
                                                             "' is not a non-negative integer";
                                          },
                                          "INTEGER >= 0"};

struct create_options {
  queue_config config; ///< the other options bind here, so its defaults are the defaults
  std::string visibility = format_duration_ms(config.visibility_timeout_ms);
  std::string delay = format_duration_ms(config.delay_ms);
  std::string retention = format_duration_ms(config.retention_ms);
  std::string retry_base = format_duration_ms(config.retry.base_ms);
  std::string retry_cap = format_duration_ms(config.retry.cap_ms);
  std::string dedup_window = format_duration_ms(config.dedup_window_ms);
};

void add_queue_create(CLI::App& queue, invocation& inv) {
  auto* cmd = queue.add_subcommand("create", "create a queue");
  auto o = std::make_shared<create_options>();
  auto& c = o->config;
  cmd->add_option("NAME", c.name, "queue name")->required();
  cmd->add_option("--visibility-timeout", o->visibility, "lease per delivery")
      ->capture_default_str();
  cmd->add_option("--delay", o->delay, "delivery delay")->capture_default_str();
  cmd->add_option("--retention", o->retention, "message retention")->capture_default_str();
  cmd->add_option("--max-size", c.max_message_bytes, "max message bytes")
      ->capture_default_str()
      ->check(non_negative_integer);
  cmd->add_option("--max-depth", c.max_depth, "messages held at most; 0: no limit")
      ->capture_default_str()
      ->check(non_negative_integer);
  auto* dead_letter = cmd->add_option("--dead-letter", c.dead_letter_target, "dead-letter sink");
  cmd->add_option("--max-receive-count", c.max_receive_count,
                  "deliveries before dead-lettering, 0: never")
      ->capture_default_str()
      ->check(non_negative_integer)
      ->needs(dead_letter);
  cmd->add_option("--retry-base", o->retry_base, "first retry delay")->capture_default_str();
  cmd->add_option("--retry-cap", o->retry_cap, "longest retry delay")->capture_default_str();
  cmd->add_option("--retry-factor", c.retry.factor, "backoff growth per retry")
      ->capture_default_str();
  cmd->add_option("--dedup-window", o->dedup_window, "how long a dedup id suppresses re-sends")
      ->capture_default_str();
  cmd->add_flag("--content-based-dedup", c.content_based_dedup,
                "key messages without a dedup id by the SHA-256 of their body");
  cmd->add_flag("--fifo", c.fifo, "message groups: in order, one in flight per group");
  on_chosen(cmd, inv, [o]() -> std::optional<action> {
    auto config = o->config;
    // Errors name the queue, as the node's own errors about its configuration do.
    auto read = [&](const std::string& text, const std::string& field, int64_t& out_ms) {
      auto ms = parse_duration(text, "queue '" + config.name + "': " + field);
      if (ms)
        out_ms = *ms;
      return ms.has_value();
    };
    if (!read(o->visibility, "visibility timeout", config.visibility_timeout_ms) ||
        !read(o->delay, "delay", config.delay_ms) ||
        !read(o->retention, "retention", config.retention_ms) ||
        !read(o->retry_base, "retry base", config.retry.base_ms) ||
        !read(o->retry_cap, "retry cap", config.retry.cap_ms) ||
        !read(o->dedup_window, "dedup window", config.dedup_window_ms))
      return std::nullopt;
    return [config](client& cl) { return run_queue_create(cl, config); };
  });
}

void add_queue_ls(CLI::App& queue, invocation& inv) {
  auto* cmd = queue.add_subcommand("ls", "list queues");
  on_chosen(cmd, inv, always([&inv](client& cl) { return run_queue_ls(cl, inv.json); }));
}

void add_queue_commands(CLI::App& app, invocation& inv) {
  auto* queue = app.add_subcommand("queue", "create, list, inspect, purge and delete queues");
  queue->require_subcommand(1);
  add_queue_create(*queue, inv);
  add_queue_ls(*queue, inv);
  add_named_command(
      *queue, inv, "stats", "a queue's depth and counters", "queue",
      [&inv](client& cl, const std::string& name) { return run_queue_stats(cl, name, inv.json); });
  add_named_command(*queue, inv, "purge", "remove every message of a queue", "queue",
                    run_queue_purge);
  add_named_command(*queue, inv, "delete", "delete a queue and its messages", "queue",
                    run_queue_delete);
}

// --- messages ------------------------------------------------------------------------------------

struct send_options {
  std::string queue, body, delay;
  std::vector<std::string> attrs;
  outgoing_message message; ///< ids bind here
};

void add_send(CLI::App& app, invocation& inv) {
  auto* cmd = app.add_subcommand("send", "send a message");
  auto o = std::make_shared<send_options>();
  cmd->add_option("QUEUE", o->queue, "queue name")->required();
  cmd->add_option("BODY", o->body, "message body; '-': one message per line of stdin")->required();
  // One KEY=VALUE per --attr, so that a body after it is never taken for another attribute.
  cmd->add_option("--attr", o->attrs, "attribute KEY=VALUE (repeatable)")->allow_extra_args(false);
  auto* delay = cmd->add_option("--delay", o->delay, "delivery delay (default: the queue's)");
  cmd->add_option("--dedup-id", o->message.dedup_id, "producer idempotency key");
  cmd->add_option("--group", o->message.group_id, "FIFO queues: the message group");
  cmd->add_option("--correlation-id", o->message.correlation_id, "request, fan-out or saga id");
  cmd->add_option("--causation-id", o->message.causation_id,
                  "id of the message that caused this one");
  on_chosen(cmd, inv, [o, delay, &inv]() -> std::optional<action> {
    auto message = o->message;
    message.sent_at_us = 0; // stamped by the queue
    for (const auto& text : o->attrs) {
      auto attr = parse_attr(text);
      if (!attr)
        return std::nullopt;
      message.attributes.push_back(std::move(*attr));
    }
    if (delay->count() > 0) {
      auto ms = parse_duration(o->delay, "delay");
      if (!ms)
        return std::nullopt;
      message.delay_ms = *ms;
    }
    if (o->body == "-")
      return [o, message, &inv](client& cl) {
        return run_send_lines(cl, o->queue, message, std::cin, inv.json);
      };
    message.body = o->body;
    return [o, message, &inv](client& cl) { return run_send(cl, o->queue, message, inv.json); };
  });
}

struct recv_options {
  std::string queue, wait = "0s", visibility;
  receive_request request; ///< --max binds here
  bool ack = false;
};

void add_recv(CLI::App& app, invocation& inv) {
  auto* cmd = app.add_subcommand("recv", "receive messages under a lease");
  auto o = std::make_shared<recv_options>();
  cmd->add_option("QUEUE", o->queue, "queue name")->required();
  cmd->add_option("--max", o->request.max, "at most N messages")
      ->capture_default_str()
      ->check(CLI::Range(uint32_t{1}, max_wire_batch));
  cmd->add_option("--wait", o->wait, "long-poll up to D, at most 20s")->capture_default_str();
  auto* visibility =
      cmd->add_option("--visibility", o->visibility, "lease (default: the queue's timeout)");
  cmd->add_flag("--ack", o->ack, "ack everything received");
  on_chosen(cmd, inv, [o, visibility, &inv]() -> std::optional<action> {
    auto request = o->request;
    auto wait = parse_duration(o->wait, "wait");
    if (!wait)
      return std::nullopt;
    request.wait_ms = *wait;
    if (visibility->count() > 0) {
      auto ms = parse_duration(o->visibility, "visibility");
      if (!ms)
        return std::nullopt;
      request.visibility_ms = *ms;
    }
    return [o, request, &inv](client& cl) {
      return run_recv(cl, o->queue, request, o->ack, inv.json);
    };
  });
}

struct ack_options {
  std::string queue;
  std::vector<std::string> receipts;
};

void add_ack(CLI::App& app, invocation& inv) {
  auto* cmd = app.add_subcommand("ack", "acknowledge (delete) delivered messages");
  auto o = std::make_shared<ack_options>();
  cmd->add_option("QUEUE", o->queue, "queue name")->required();
  cmd->add_option("RECEIPT", o->receipts, "receipts from recv")->required();
  cmd->footer("Prints each receipt's outcome in order (acked, or refused with the reason). Exit "
              "code 2 if any receipt was refused: the others were still acked.");
  on_chosen(cmd, inv,
            always([o, &inv](client& cl) { return run_ack(cl, o->queue, o->receipts, inv.json); }));
}

struct nack_options {
  std::string queue, retry_after;
  nack_request request; ///< receipt, reason and error bind here
};

void add_nack(CLI::App& app, invocation& inv) {
  auto* cmd = app.add_subcommand("nack", "give a delivery back: retry later or dead-letter it");
  auto o = std::make_shared<nack_options>();
  cmd->add_option("QUEUE", o->queue, "queue name")->required();
  cmd->add_option("RECEIPT", o->request.receipt, "receipt from recv")->required();
  auto* retry_after = cmd->add_option("--retry-after", o->retry_after,
                                      "redeliver after D (default: the queue's backoff)");
  cmd->add_option("--dead-letter", o->request.dead_letter_reason,
                  "send straight to the dead-letter sink, for REASON")
      ->excludes(retry_after);
  cmd->add_option("--error", o->request.error, "error text kept in the death record");
  on_chosen(cmd, inv, [o, retry_after]() -> std::optional<action> {
    auto request = o->request;
    if (retry_after->count() > 0) {
      auto ms = parse_duration(o->retry_after, "retry after");
      if (!ms)
        return std::nullopt;
      request.retry_after_ms = *ms;
    }
    return [o, request](client& cl) { return run_nack(cl, o->queue, request); };
  });
}

struct visibility_options {
  std::string queue, receipt, duration;
};

void add_visibility(CLI::App& app, invocation& inv) {
  auto* cmd = app.add_subcommand("visibility", "set a lease to end D from now (0s releases it)");
  auto o = std::make_shared<visibility_options>();
  cmd->add_option("QUEUE", o->queue, "queue name")->required();
  cmd->add_option("RECEIPT", o->receipt, "receipt from recv")->required();
  cmd->add_option("D", o->duration, "new lease")->required();
  on_chosen(cmd, inv, [o]() -> std::optional<action> {
    auto ms = parse_duration(o->duration, "visibility");
    if (!ms)
      return std::nullopt;
    return [o, ms = *ms](client& cl) { return run_visibility(cl, o->queue, o->receipt, ms); };
  });
}

// --- dead-letter sinks ---------------------------------------------------------------------------

struct dlq_ls_options {
  std::string sink;
  uint32_t max = 100;
};

void add_dlq_ls(CLI::App& dlq, invocation& inv) {
  auto* cmd = dlq.add_subcommand("ls", "list dead messages without consuming them");
  auto o = std::make_shared<dlq_ls_options>();
  cmd->add_option("NAME", o->sink, "dead-letter sink")->required();
  cmd->add_option("--max", o->max, "at most N records")->capture_default_str();
  on_chosen(cmd, inv,
            always([o, &inv](client& cl) { return run_dlq_ls(cl, o->sink, o->max, inv.json); }));
}

struct redrive_options {
  std::string sink, attr;
  redrive_request request; ///< everything but --attr binds here
};

void add_dlq_redrive(CLI::App& dlq, invocation& inv) {
  auto* cmd = dlq.add_subcommand("redrive", "move dead messages back to a queue");
  auto o = std::make_shared<redrive_options>();
  auto& r = o->request;
  cmd->add_option("NAME", o->sink, "dead-letter sink")->required();
  cmd->add_option("--to", r.to, "target queue (default: each message's source)");
  cmd->add_option("--rate", r.rate_per_s, "messages per second, 0: unlimited")
      ->capture_default_str();
  cmd->add_flag("--dry-run", r.dry_run, "count and list what would move, move nothing");
  cmd->add_option("--reason", r.filter.reason, "only this death reason");
  cmd->add_option("--source", r.filter.source, "only messages that died in this queue");
  cmd->add_option("--attr", o->attr, "only messages with attribute KEY=VALUE");
  cmd->add_option("--error-contains", r.filter.error_contains, "only errors containing TEXT");
  on_chosen(cmd, inv, [o, &inv]() -> std::optional<action> {
    auto request = o->request;
    if (!o->attr.empty()) {
      auto attr = parse_attr(o->attr);
      if (!attr)
        return std::nullopt;
      request.filter.attribute_key = attr->key;
      request.filter.attribute_value = attr->value;
    }
    return
        [o, request, &inv](client& cl) { return run_dlq_redrive(cl, o->sink, request, inv.json); };
  });
}

void add_dlq_purge(CLI::App& dlq, invocation& inv) {
  auto* cmd = dlq.add_subcommand("purge", "delete every dead message of a sink");
  auto sink = std::make_shared<std::string>();
  cmd->add_option("NAME", *sink, "dead-letter sink")->required();
  on_chosen(cmd, inv, always([sink](client& cl) { return run_dlq_purge(cl, *sink); }));
}

void add_dlq_commands(CLI::App& app, invocation& inv) {
  auto* dlq = app.add_subcommand("dlq", "inspect, redrive and purge dead-letter sinks");
  dlq->require_subcommand(1);
  add_dlq_ls(*dlq, inv);
  add_dlq_redrive(*dlq, inv);
  add_dlq_purge(*dlq, inv);
}

// --- topics --------------------------------------------------------------------------------------

void add_topic_ls(CLI::App& topic, invocation& inv) {
  auto* cmd = topic.add_subcommand("ls", "list topics");
  on_chosen(cmd, inv, always([&inv](client& cl) { return run_topic_ls(cl, inv.json); }));
}

struct subscribe_options {
  std::string topic;
  subscription sub; ///< everything but the topic binds here
};

void add_topic_subscribe(CLI::App& topic, invocation& inv) {
  auto* cmd = topic.add_subcommand("subscribe", "subscribe a queue to a topic");
  auto o = std::make_shared<subscribe_options>();
  auto& s = o->sub;
  cmd->add_option("TOPIC", o->topic, "topic name")->required();
  cmd->add_option("QUEUE", s.queue, "queue name")->required();
  // The policy is passed through as text: the node parses it and names what is wrong, so the
  // CLI and the node cannot disagree about what a valid policy is.
  auto* filter = cmd->add_option("--filter", s.filter_policy, "SNS filter policy (JSON)");
  cmd->add_flag("--filter-body", s.filter_on_body,
                "the policy matches fields of a JSON body, not attributes")
      ->needs(filter);
  cmd->add_flag("--raw", s.raw, "deliver the body as published, not an SNS envelope");
  cmd->add_option("--dead-letter", s.dead_letter_target, "sink for copies the queue cannot take");
  on_chosen(cmd, inv, [o, filter]() -> std::optional<action> {
    // An empty policy means "match everything" on the wire, so `--filter ""` (often an unset
    // shell variable) would silently subscribe to everything.
    if (filter->count() > 0 && o->sub.filter_policy.empty()) {
      print_usage_error(R"(--filter needs a JSON policy, e.g. '{"kind": ["paid"]}')");
      return std::nullopt;
    }
    return [o](client& cl) { return run_topic_subscribe(cl, o->topic, o->sub); };
  });
}

struct unsubscribe_options {
  std::string topic, queue;
};

void add_topic_unsubscribe(CLI::App& topic, invocation& inv) {
  auto* cmd = topic.add_subcommand("unsubscribe", "remove a queue's subscription");
  auto o = std::make_shared<unsubscribe_options>();
  cmd->add_option("TOPIC", o->topic, "topic name")->required();
  cmd->add_option("QUEUE", o->queue, "queue name")->required();
  on_chosen(cmd, inv,
            always([o](client& cl) { return run_topic_unsubscribe(cl, o->topic, o->queue); }));
}

void add_topic_commands(CLI::App& app, invocation& inv) {
  auto* topic = app.add_subcommand("topic", "create, list, show and delete topics; subscribe");
  topic->require_subcommand(1);
  add_named_command(*topic, inv, "create", "create a topic", "topic", run_topic_create);
  add_topic_ls(*topic, inv);
  add_named_command(
      *topic, inv, "show", "a topic's subscriptions and counters (since the node started)", "topic",
      [&inv](client& cl, const std::string& name) { return run_topic_show(cl, name, inv.json); });
  add_named_command(*topic, inv, "delete", "delete a topic (its queues stay)", "topic",
                    run_topic_delete);
  add_topic_subscribe(*topic, inv);
  add_topic_unsubscribe(*topic, inv);
}

struct publish_options {
  std::string target, body;
  std::vector<std::string> attrs;
  outgoing_message message; ///< ids bind here
};

using publish_one = std::function<int(data_plane&, const std::string&, const outgoing_message&)>;
using publish_lines =
    std::function<int(data_plane&, const std::string&, const outgoing_message&, std::istream&)>;

/// `publish` and `route`: a message (or one per line of stdin, as one batch) to a topic or
/// router, with the same options.
void add_publish_command(CLI::App& app, invocation& inv, const std::string& name,
                         const std::string& help, const std::string& target, publish_one one,
                         publish_lines lines) {
  auto* cmd = app.add_subcommand(name, help);
  auto o = std::make_shared<publish_options>();
  cmd->add_option(target, o->target, "name")->required();
  cmd->add_option("BODY", o->body,
                  "message body; '-': one message per line of stdin, sent as one batch")
      ->required();
  // One KEY=VALUE per --attr, so that a body after it is never taken for another attribute.
  cmd->add_option("--attr", o->attrs, "attribute KEY=VALUE (repeatable)")->allow_extra_args(false);
  cmd->add_option("--dedup-id", o->message.dedup_id, "producer idempotency key");
  cmd->add_option("--correlation-id", o->message.correlation_id, "request, fan-out or saga id");
  on_chosen(cmd, inv, [o, one, lines]() -> std::optional<action> {
    auto message = o->message;
    message.sent_at_us = 0; // stamped where it is enqueued
    for (const auto& text : o->attrs) {
      auto attr = parse_attr(text);
      if (!attr)
        return std::nullopt;
      message.attributes.push_back(std::move(*attr));
    }
    if (o->body == "-")
      return [o, message, lines](client& cl) { return lines(cl, o->target, message, std::cin); };
    message.body = o->body;
    return [o, message, one](client& cl) { return one(cl, o->target, message); };
  });
}

void add_publish(CLI::App& app, invocation& inv) {
  add_publish_command(
      app, inv, "publish", "publish a message to a topic's subscribers", "TOPIC",
      [&inv](data_plane& c, const std::string& topic, const outgoing_message& m) {
        return run_publish(c, topic, m, inv.json);
      },
      [&inv](data_plane& c, const std::string& topic, const outgoing_message& m, std::istream& in) {
        return run_publish_lines(c, topic, m, in, inv.json);
      });
}

void add_route(CLI::App& app, invocation& inv) {
  add_publish_command(
      app, inv, "route", "send a message through a router's rules", "ROUTER",
      [&inv](data_plane& c, const std::string& router, const outgoing_message& m) {
        return run_route(c, router, {m}, inv.json);
      },
      [&inv](data_plane& c, const std::string& router, const outgoing_message& m,
             std::istream& in) {
        return run_route(c, router, messages_from_lines(m, in), inv.json);
      });
}

void add_trace(CLI::App& app, invocation& inv) {
  auto* cmd = app.add_subcommand("trace", "a message's story and the messages it caused");
  auto id = std::make_shared<std::string>();
  auto depth = std::make_shared<uint32_t>(3);
  cmd->add_option("ID", *id, "message id (or a publish id)")->required();
  cmd->add_option("--depth", *depth, "generations of caused messages to show")
      ->capture_default_str()
      ->check(CLI::Range(0, 10));
  on_chosen(cmd, inv,
            always([id, depth, &inv](client& cl) { return run_trace(cl, *id, *depth, inv.json); }));
}

void add_global_options(CLI::App& app, invocation& inv) {
  // Subcommands hand options they do not know to their parent, so `mailroom queue ls --json`
  // works as well as `mailroom --json queue ls`. Set before adding subcommands: they inherit it.
  app.fallthrough();
  app.require_subcommand(1);
  app.add_option("--node", inv.node, "node address HOST:PORT (default: $MAILROOM_NODE)")
      ->capture_default_str();
  app.add_flag("--json", inv.json, "print one JSON object per line");
  app.add_option("--log-level", inv.log_level, "trace, debug, info, warn, error, critical or off");
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"mailroom: command-line client of a Mailroom node", "mailroom"};
  invocation inv;
  inv.node = default_node();
  add_global_options(app, inv);
  add_queue_commands(app, inv);
  add_send(app, inv);
  add_recv(app, inv);
  add_ack(app, inv);
  add_nack(app, inv);
  add_visibility(app, inv);
  add_dlq_commands(app, inv);
  add_topic_commands(app, inv);
  add_router_commands(app, inv);
  add_alarm_commands(app, inv);
  add_publish(app, inv);
  add_route(app, inv);
  add_trace(app, inv);
  add_saga_commands(app, inv);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? ok : usage; // --help exits 0
  }
  if (!inv.log_level.empty())
    if (auto err = set_log_level(inv.log_level))
      return print_usage_error(message_of(err));
  if (!inv.plan) // unreachable while every command requires a leaf subcommand
    return print_usage_error("no command given; see --help");
  auto run = inv.plan();
  if (!run)
    return usage;
  auto connected = client::connect(inv.node);
  if (!connected)
    return print_error(connected.error());
  return (*run)(**connected);
}
