// The `mailroom` CLI's commands: one function each, taking a connected client and the parsed
// options, returning the process exit code.
//
// Exit codes: 0 success, 1 usage error, 2 the node refused (reason on stderr), 3 the node could
// not be reached.
//
// --json output is one JSON object per line. These field names are a stable interface:
//   recv:        id, body, receipt, receive_count, attributes {k: v}, sent_at_us,
//                enqueued_at_ms, correlation_id, causation_id
//   queue ls:    name
//   queue stats: name, visible, in_flight, delayed, oldest_age_ms, sent, received, acked,
//                dead_lettered
//   send:        id
//   dlq ls:      id, body, reason, error, source, receive_count, first_failure_ms,
//                last_failure_ms, dead_at_ms, attributes {k: v},
//                history [{reason, error, source, receive_count}]
//   dlq redrive: moved, dry_run, ids
#pragma once

#include "mailroom/client.hpp"
#include "mailroom/types.hpp"

#include <string>
#include <vector>

namespace mailroom::cli {

enum exit_code : int { ok = 0, usage = 1, refused = 2, unreachable = 3 };

/// Prints "mailroom: MESSAGE" and maps the error to 2 (refused) or 3 (unreachable).
int fail(const caf::error& err);
/// Prints "mailroom: MESSAGE" and returns 1.
int usage_error(const std::string& message);

/// Parses "K=V" attributes; false (after printing) on one without '='.
bool parse_attributes(const std::vector<std::string>& in, attribute_list& out);
/// Parses a duration option; false (after printing) when it is not one.
bool parse_duration(const std::string& text, const std::string& what, int64_t& out_ms);

int queue_create(client& c, const queue_config& config);
int queue_ls(client& c, bool json);
int queue_stats_cmd(client& c, const std::string& queue, bool json);
int queue_purge(client& c, const std::string& queue);
int queue_delete(client& c, const std::string& queue);
int send(client& c, const std::string& queue, const std::string& body,
         const outgoing_message& prototype, bool json);
int recv(client& c, const std::string& queue, const receive_request& request, bool ack, bool json);
int ack(client& c, const std::string& queue, const std::vector<std::string>& receipts);
int nack(client& c, const std::string& queue, const nack_request& request);
int visibility(client& c, const std::string& queue, const std::string& receipt, int64_t ms);
int dlq_ls(client& c, const std::string& sink, uint32_t max, bool json);
int dlq_redrive(client& c, const std::string& sink, const redrive_request& request, bool json);
int dlq_purge(client& c, const std::string& sink);

} // namespace mailroom::cli
