// The `mailroom` CLI's commands: one function each, taking a connected client and the parsed
// options, returning the process exit code. main.cpp parses and connects; nothing here touches
// the command line.
//
// Exit codes: 0 success, 1 usage error, 2 the node refused (reason on stderr), 3 the node could
// not be reached. Errors go to stderr as "mailroom: REASON".
//
// --json output is one JSON object per line. These field names are a stable interface; scripts
// parse them, so add fields but never rename or remove one:
//   queue ls:    name
//   queue stats: name, visible, in_flight, delayed, oldest_age_ms, sent, received, acked,
//                dead_lettered
//   send:        id; send - (each message on its own): id, or error_code and error if refused
//   ack:         receipt, acked (true/false), error_code and error if refused
//   recv:        id, body, receipt, receive_count, attributes {key: value}, sent_at_us,
//                enqueued_at_ms, correlation_id, causation_id, group_id,
//                history [{reason, error, source, receive_count, dead_at_ms}]
//   dlq ls:      id, body, reason, error, source, receive_count, first_failure_ms,
//                last_failure_ms, dead_at_ms, attributes {key: value},
//                history [{reason, error, source, receive_count, dead_at_ms}]
//   dlq redrive: moved, dry_run, ids [id...]
//   topic ls:    name
//   topic show:  name, subscriptions [{queue, filter_policy, filter_scope ("attributes" or
//                "body"), raw, dead_letter}], published, deliveries, unmatched, dead_lettered
//   trace:       one line per step: id, queue, kind, at_ms, receive_count, detail, causation_id,
//                correlation_id (kind: published, sent, delivered, retried, dead_lettered,
//                redriven, acked)
//   publish:     id, deliveries, unmatched, dead_lettered
//   publish -:   ids [id...], deliveries, unmatched, dead_lettered (one object for the batch:
//                the counts are the batch's, not per message)
//   route:       routed, unroutable, copies (for the batch)
//   router ls:   name;  alarm ls: name
//   router show: name, all_match, default (TARGET or ""), dead_letter, rules [{to, match, scope
//                ("attributes" or "body")}]
//   alarm show:  name, entity, metric, threshold, for, topic, check_every (durations as text),
//                firing, value, since_ms
//   saga ls:     id, definition, version, status, current_step, started_at_ms, updated_at_ms
// Bodies are bytes: where a body is not valid UTF-8, recv and dlq ls write body_base64 (standard
// base64) instead of body, and attribute values that are not go to attributes_base64
// {key: base64} instead of attributes. SNS notifications (non-raw subscriptions) do the same
// with Message in base64 and "MessageEncoding": "base64", and Binary attributes.
//   saga show:   id, definition, version, status, idempotency_key, data, error, cancelled,
//                completed_steps, started_at_ms, updated_at_ms, timeline [{step, action ("run"
//                or "compensate"), retry_at_ms, attempts [{number, outcome, error, sent_at_ms,
//                ended_at_ms, command_id, reply_id}]}]
//   saga start:  id
//   saga stats:  running, compensating, parked, started, completed, compensated,
//                compensations_sent, step_replies, step_latency_p50_ms, step_latency_p99_ms
// Bodies and other strings that are not valid UTF-8 are printed with U+FFFD replacements.
#pragma once

#include "mailroom/client.hpp"
#include "mailroom/topic_types.hpp"
#include "mailroom/types.hpp"

#include <caf/error.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mailroom::cli {

enum exit_code : int { ok = 0, usage = 1, refused = 2, unreachable = 3 };

// --- shared helpers ------------------------------------------------------------------------------

/// One JSON object as a line. Bodies go in as body_base64 where they are not UTF-8 (to_json);
/// any other invalid sequence is replaced rather than fatal, so one odd value cannot abort a
/// listing halfway.
std::string json_line(const nlohmann::json& j);

/// Prints "mailroom: REASON"; returns unreachable for errc::unavailable, else refused.
int print_error(const caf::error& err);

/// ok, or print_error(err): the exit code of a call that answers with a status only.
int exit_code_of(const caf::error& err);

/// Prints a listing of names (`queue ls`, `topic ls`): one per line, or {"name"} with --json.
int print_names(const caf::expected<std::vector<std::string>>& names, bool json);

/// Prints "mailroom: MESSAGE"; returns usage.
int print_usage_error(const std::string& message);

/// Prints `fields` of `object` in that order (a JSON object would sort them), as "key:  value"
/// lines with the values in one column.
void print_aligned(const nlohmann::json& object, std::span<const std::string_view> fields);

/// Splits "KEY=VALUE" at the first '='. Without a key and '=', prints a usage error and gives
/// nullopt.
std::optional<attribute> parse_attr(const std::string& text);

/// Parses a duration option into milliseconds; `what` names it in the error ("delay"). On bad
/// input prints a usage error and gives nullopt.
std::optional<int64_t> parse_duration(const std::string& text, const std::string& what);

nlohmann::json to_json(const queue_stats& stats);
nlohmann::json to_json(const delivery& delivery);
nlohmann::json to_json(const dead_letter& record);

// --- commands ------------------------------------------------------------------------------------

int run_queue_create(catalog& c, const queue_config& config);
int run_queue_ls(catalog& c, bool json);
int run_queue_stats(data_plane& c, const std::string& queue, bool json);
int run_queue_purge(data_plane& c, const std::string& queue);
int run_queue_delete(catalog& c, const std::string& queue);

/// Sends `message` as it is and prints its id.
int run_send(data_plane& c, const std::string& queue, const outgoing_message& message, bool json);

/// Sends one message per non-empty line of `in`, each a copy of `prototype` with that line as
/// its body, and prints the ids in input order.
int run_send_lines(data_plane& c, const std::string& queue, const outgoing_message& prototype,
                   std::istream& in, bool json);

/// Receives and prints; with `ack`, then acks everything received in one call.
int run_recv(data_plane& c, const std::string& queue, const receive_request& request, bool ack,
             bool json);
/// Prints each receipt's outcome (acked or refused, with --json an object per receipt); exits
/// 2 (refused) if any receipt was refused, even though the others were acked.
int run_ack(data_plane& c, const std::string& queue, const std::vector<std::string>& receipts,
            bool json);
int run_nack(data_plane& c, const std::string& queue, const nack_request& request);
int run_visibility(data_plane& c, const std::string& queue, const std::string& receipt,
                   int64_t visibility_ms);

int run_dlq_ls(data_plane& c, const std::string& sink, uint32_t max, bool json);
int run_dlq_redrive(data_plane& c, const std::string& sink, const redrive_request& request,
                    bool json);
int run_dlq_purge(data_plane& c, const std::string& sink);

int run_topic_create(catalog& c, const std::string& topic);
int run_topic_ls(catalog& c, bool json);
int run_topic_show(client& c, const std::string& topic, bool json);
int run_topic_delete(catalog& c, const std::string& topic);
int run_topic_subscribe(catalog& c, const std::string& topic, const subscription& sub);
int run_topic_unsubscribe(catalog& c, const std::string& topic, const std::string& queue);
/// Publishes `message` as it is and prints its id and where it went.
int run_publish(data_plane& c, const std::string& topic, const outgoing_message& message,
                bool json);

/// Publishes one message per non-empty line of `in`, each a copy of `prototype` with that line
/// as its body, in one batch: the node takes all or none (a crash cannot split it), and more
/// than max_wire_batch lines are refused. Prints the ids in input order, then the counts.
int run_publish_lines(data_plane& c, const std::string& topic, const outgoing_message& prototype,
                      std::istream& in, bool json);

/// One copy of `prototype` per non-empty line of `in`, with that line as its body.
std::vector<outgoing_message> messages_from_lines(const outgoing_message& prototype,
                                                  std::istream& in);

/// Sends `messages` through a router as one batch and prints what happened to them.
int run_route(data_plane& c, const std::string& router,
              const std::vector<outgoing_message>& messages, bool json);

/// Prints the story of message `id`, then those of the messages it caused (`depth` generations).
int run_trace(data_plane& c, const std::string& id, uint32_t depth, bool json);

} // namespace mailroom::cli
