#include "commands.hpp"

#include "mailroom/text_encoding.hpp"

#include "mailroom/duration.hpp"
#include "mailroom/error.hpp"

#include <algorithm>
#include <array>
#include <iomanip>
#include <iostream>

namespace mailroom::cli {

namespace {

/// Lines read from standard input go out in batches of this many: few round trips, yet far
/// below the endpoint's max_wire_batch and its frame limit, and ids appear as batches land.
constexpr size_t max_send_batch = 1000;

/// `queue stats` fields in display order (a JSON object would sort them).
constexpr std::array<std::string_view, 9> stats_fields = {
    "name", "visible",  "in_flight", "delayed",       "oldest_age_ms",
    "sent", "received", "acked",     "dead_lettered",
};

/// JSON strings are UTF-8 and bodies are bytes: a body that is not valid UTF-8 is written as
/// `body_base64` instead of `body`, and such attribute values go to `attributes_base64`, so
/// that no output loses a byte.
void put_body(nlohmann::json& out, const envelope& m) {
  if (is_valid_utf8(m.body))
    out["body"] = m.body;
  else
    out["body_base64"] = base64_encode(m.body);
  auto text = nlohmann::json::object();
  auto binary = nlohmann::json::object();
  for (const auto& a : m.attributes)
    (!a.binary() && is_valid_utf8(a.value) ? text[a.key] = a.value
                                           : binary[a.key] = base64_encode(a.value));
  out["attributes"] = std::move(text);
  if (!binary.empty())
    out["attributes_base64"] = std::move(binary);
}

nlohmann::json history_json(const std::vector<death_record>& history) {
  auto out = nlohmann::json::array();
  for (const auto& h : history)
    out.push_back({{"reason", h.reason},
                   {"error", h.error},
                   {"source", h.source},
                   {"receive_count", h.receive_count},
                   {"dead_at_ms", h.dead_at_ms}});
  return out;
}

/// Acks report per receipt; one failure does not stop the others, so each is named on stderr.
int report_ack_outcomes(const std::vector<ack_outcome>& outcomes) {
  int code = ok;
  for (const auto& o : outcomes)
    if (!o.error_code.empty()) {
      std::cerr << "mailroom: " << o.receipt << ": " << o.error_message << "\n";
      code = refused;
    }
  return code;
}

/// Sends each message on its own: prints a line per message (its id, or with --json the id or
/// the refusal), names every refused message on stderr, and returns `refused` if any was.
/// `first` is the number of the batch's first message in the input (1-based).
int send_batch(data_plane& c, const std::string& queue, const std::vector<outgoing_message>& batch,
               bool json, size_t first = 1) {
  auto results = c.send_each(queue, batch);
  if (!results)
    return print_error(results.error());
  size_t refusals = 0;
  for (size_t i = 0; i < results->size(); ++i) {
    const auto& r = (*results)[i];
    if (r.error_code.empty()) {
      std::cout << (json ? json_line({{"id", r.id}}) : r.id) << "\n";
      continue;
    }
    ++refusals;
    if (json)
      std::cout << json_line({{"error_code", r.error_code}, {"error", r.error_message}}) << "\n";
    if (batch.size() == 1) // one message: its refusal says it all
      std::cerr << "mailroom: " << r.error_message << "\n";
    else
      std::cerr << "mailroom: message " << first + i << " not sent: " << r.error_message << "\n";
  }
  if (refusals > 0 && batch.size() > 1)
    std::cerr << "mailroom: " << results->size() - refusals << " of " << results->size()
              << " message(s) sent, " << refusals << " refused\n";
  return refusals > 0 ? refused : ok;
}

void print_delivery(const delivery& d, bool json) {
  if (json) {
    std::cout << json_line(to_json(d)) << "\n";
    return;
  }
  std::cout << d.message->id << "\t" << d.receipt << "\treceive_count=" << d.receive_count << "\t"
            << d.message->body << "\n";
}

void print_dead_letter(const dead_letter& d, bool json) {
  if (json) {
    std::cout << json_line(to_json(d)) << "\n";
    return;
  }
  std::cout << d.message.id << "\treason=" << d.death.reason << "\tsource=" << d.death.source
            << "\treceive_count=" << d.death.receive_count << "\terror=" << d.death.error << "\t"
            << d.message.body << "\n";
}

} // namespace

// --- shared helpers ------------------------------------------------------------------------------

std::string json_line(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

int print_error(const caf::error& err) {
  std::cerr << "mailroom: " << message_of(err) << "\n";
  return code_of(err) == errc::unavailable ? unreachable : refused;
}

int exit_code_of(const caf::error& err) {
  return err ? print_error(err) : ok;
}

int print_names(const caf::expected<std::vector<std::string>>& names, bool json) {
  if (!names)
    return print_error(names.error());
  for (const auto& name : *names)
    std::cout << (json ? json_line({{"name", name}}) : name) << "\n";
  return ok;
}

int print_usage_error(const std::string& message) {
  std::cerr << "mailroom: " << message << "\n";
  return usage;
}

void print_aligned(const nlohmann::json& object, std::span<const std::string_view> fields) {
  size_t width = 0;
  for (auto key : fields)
    width = std::max(width, key.size());
  for (auto key : fields) {
    const auto& value = object.at(std::string{key});
    std::cout << std::left << std::setw(static_cast<int>(width + 2)) << std::string{key} + ":"
              << (value.is_string() ? value.get<std::string>() : value.dump()) << "\n";
  }
}

std::optional<attribute> parse_attr(const std::string& text) {
  auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    print_usage_error("attribute '" + text + "' is not KEY=VALUE");
    return std::nullopt;
  }
  return attribute{text.substr(0, eq), text.substr(eq + 1)};
}

std::optional<int64_t> parse_duration(const std::string& text, const std::string& what) {
  auto ms = parse_duration_ms(text, what);
  if (!ms) {
    print_usage_error(message_of(ms.error()));
    return std::nullopt;
  }
  return *ms;
}

nlohmann::json to_json(const queue_stats& stats) {
  return {{"name", stats.name},
          {"visible", stats.visible},
          {"in_flight", stats.in_flight},
          {"delayed", stats.delayed},
          {"oldest_age_ms", stats.oldest_age_ms},
          {"sent", stats.sent},
          {"received", stats.received},
          {"acked", stats.acked},
          {"dead_lettered", stats.dead_lettered}};
}

nlohmann::json to_json(const delivery& delivery) {
  const auto& m = *delivery.message;
  nlohmann::json out{{"id", m.id},
                     {"receipt", delivery.receipt},
                     {"receive_count", delivery.receive_count},
                     {"sent_at_us", m.sent_at_us},
                     {"enqueued_at_ms", m.enqueued_at_ms},
                     {"correlation_id", m.correlation_id},
                     {"group_id", m.group_id},
                     {"causation_id", m.causation_id},
                     {"history", history_json(m.history)}};
  put_body(out, m);
  return out;
}

nlohmann::json to_json(const dead_letter& record) {
  const auto& m = record.message;
  const auto& death = record.death;
  nlohmann::json out{{"id", m.id},
                     {"reason", death.reason},
                     {"error", death.error},
                     {"source", death.source},
                     {"receive_count", death.receive_count},
                     {"first_failure_ms", death.first_failure_ms},
                     {"last_failure_ms", death.last_failure_ms},
                     {"dead_at_ms", death.dead_at_ms},
                     {"history", history_json(m.history)}};
  put_body(out, m);
  return out;
}

// --- queue ---------------------------------------------------------------------------------------

int run_queue_create(catalog& c, const queue_config& config) {
  // The rules TOML and the node apply, checked here too: on the wire a max size of 0 means
  // "the default", so the node alone would take --max-size 0 silently.
  if (auto err = validate(config)) {
    std::cerr << "mailroom: " << message_of(err) << "\n";
    return refused; // as if the node had refused it
  }
  return exit_code_of(c.create_queue(config));
}

int run_queue_ls(catalog& c, bool json) {
  return print_names(c.list_queues(), json);
}

int run_queue_stats(data_plane& c, const std::string& queue, bool json) {
  auto stats = c.stats(queue);
  if (!stats)
    return print_error(stats.error());
  auto j = to_json(*stats);
  if (json)
    std::cout << json_line(j) << "\n";
  else
    print_aligned(j, stats_fields);
  return ok;
}

namespace {

/// Both purges answer the same way: "purged N".
int print_purged(const caf::expected<uint64_t>& purged) {
  if (!purged)
    return print_error(purged.error());
  std::cout << "purged " << *purged << "\n";
  return ok;
}

} // namespace

int run_queue_purge(data_plane& c, const std::string& queue) {
  return print_purged(c.purge(queue));
}

int run_queue_delete(catalog& c, const std::string& queue) {
  return exit_code_of(c.delete_queue(queue));
}

// --- messages ------------------------------------------------------------------------------------

int run_send(data_plane& c, const std::string& queue, const outgoing_message& message, bool json) {
  return send_batch(c, queue, {message}, json);
}

int run_send_lines(data_plane& c, const std::string& queue, const outgoing_message& prototype,
                   std::istream& in, bool json) {
  // A batch with refusals ends the run: what follows is not read (a full queue would refuse it
  // too), and the messages named on stderr are the ones to send again.
  std::vector<outgoing_message> batch;
  size_t first = 1;
  for (std::string line; std::getline(in, line);) {
    if (line.empty())
      continue;
    batch.push_back(prototype);
    batch.back().body = std::move(line);
    if (batch.size() < max_send_batch)
      continue;
    if (int code = send_batch(c, queue, batch, json, first); code != ok)
      return code;
    first += batch.size();
    batch.clear();
  }
  return batch.empty() ? ok : send_batch(c, queue, batch, json, first);
}

int run_recv(data_plane& c, const std::string& queue, const receive_request& request, bool ack,
             bool json) {
  auto deliveries = c.receive(queue, request);
  if (!deliveries)
    return print_error(deliveries.error());
  std::vector<std::string> receipts;
  for (const auto& d : *deliveries) {
    print_delivery(d, json);
    receipts.push_back(d.receipt);
  }
  if (!ack || receipts.empty())
    return ok;
  auto outcomes = c.ack(queue, receipts);
  if (!outcomes)
    return print_error(outcomes.error());
  return report_ack_outcomes(*outcomes); // stdout holds the deliveries: refusals on stderr only
}

int run_ack(data_plane& c, const std::string& queue, const std::vector<std::string>& receipts,
            bool json) {
  auto outcomes = c.ack(queue, receipts);
  if (!outcomes)
    return print_error(outcomes.error());
  // Every receipt's outcome, in order: with some refused, the others were still acked.
  for (const auto& o : *outcomes) {
    if (json) {
      nlohmann::json line{{"receipt", o.receipt}, {"acked", o.error_code.empty()}};
      if (!o.error_code.empty()) {
        line["error_code"] = o.error_code;
        line["error"] = o.error_message;
      }
      std::cout << json_line(line) << "\n";
    } else {
      std::cout << o.receipt << "\t" << (o.error_code.empty() ? "acked" : "refused " + o.error_code)
                << "\n";
    }
  }
  return report_ack_outcomes(*outcomes);
}

int run_nack(data_plane& c, const std::string& queue, const nack_request& request) {
  auto outcomes = c.nack(queue, {request});
  if (!outcomes)
    return print_error(outcomes.error());
  return report_ack_outcomes(*outcomes);
}

int run_visibility(data_plane& c, const std::string& queue, const std::string& receipt,
                   int64_t visibility_ms) {
  return exit_code_of(c.change_visibility(queue, receipt, visibility_ms));
}

// --- dead-letter sinks ---------------------------------------------------------------------------

int run_dlq_ls(data_plane& c, const std::string& sink, uint32_t max, bool json) {
  auto records = c.dead_letters(sink, max);
  if (!records)
    return print_error(records.error());
  for (const auto& d : *records)
    print_dead_letter(d, json);
  return ok;
}

int run_dlq_redrive(data_plane& c, const std::string& sink, const redrive_request& request,
                    bool json) {
  auto result = c.redrive(sink, request);
  if (!result)
    return print_error(result.error());
  if (json) {
    std::cout << json_line(
                     {{"moved", result->moved}, {"dry_run", request.dry_run}, {"ids", result->ids}})
              << "\n";
    return ok;
  }
  std::cout << (request.dry_run ? "would redrive " : "redrove ") << result->moved << "\n";
  // A dry run is for looking before moving, so it names what would move.
  if (request.dry_run)
    for (const auto& id : result->ids)
      std::cout << id << "\n";
  return ok;
}

int run_dlq_purge(data_plane& c, const std::string& sink) {
  return print_purged(c.purge_dead_letters(sink));
}

} // namespace mailroom::cli
