#include "commands.hpp"

#include "mailroom/duration.hpp"
#include "mailroom/error.hpp"

#include <nlohmann/json.hpp>

#include <iostream>

namespace mailroom::cli {

namespace {

nlohmann::json attributes_json(const attribute_list& attributes) {
  auto out = nlohmann::json::object();
  for (const auto& [k, v] : attributes)
    out[k] = v;
  return out;
}

/// Bodies are bytes; JSON wants UTF-8. Invalid sequences are replaced, not fatal.
std::string json_line(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

int print_ack_failures(const std::vector<ack_outcome>& results) {
  int code = ok;
  for (const auto& r : results)
    if (!r.error_code.empty()) {
      std::cerr << "mailroom: " << r.error_message << "\n";
      code = refused;
    }
  return code;
}

} // namespace

int fail(const caf::error& err) {
  std::cerr << "mailroom: " << message_of(err) << "\n";
  return code_of(err) == errc::unavailable ? unreachable : refused;
}

int usage_error(const std::string& message) {
  std::cerr << "mailroom: " << message << "\n";
  return usage;
}

bool parse_attributes(const std::vector<std::string>& in, attribute_list& out) {
  for (const auto& a : in) {
    auto eq = a.find('=');
    if (eq == std::string::npos || eq == 0) {
      usage_error("attribute '" + a + "' is not KEY=VALUE");
      return false;
    }
    out.emplace_back(a.substr(0, eq), a.substr(eq + 1));
  }
  return true;
}

bool parse_duration(const std::string& text, const std::string& what, int64_t& out_ms) {
  auto ms = parse_duration_ms(text, what);
  if (!ms) {
    usage_error(message_of(ms.error()));
    return false;
  }
  out_ms = *ms;
  return true;
}

int queue_create(client& c, const queue_config& config) {
  if (auto err = c.create_queue(config))
    return fail(err);
  return ok;
}

int queue_ls(client& c, bool json) {
  auto names = c.list_queues();
  if (!names)
    return fail(names.error());
  for (const auto& n : *names)
    std::cout << (json ? json_line({{"name", n}}) : n) << "\n";
  return ok;
}

int queue_stats_cmd(client& c, const std::string& queue, bool json) {
  auto s = c.stats(queue);
  if (!s)
    return fail(s.error());
  nlohmann::json j = {{"name", s->name},
                      {"visible", s->visible},
                      {"in_flight", s->in_flight},
                      {"delayed", s->delayed},
                      {"oldest_age_ms", s->oldest_age_ms},
                      {"sent", s->sent},
                      {"received", s->received},
                      {"acked", s->acked},
                      {"dead_lettered", s->dead_lettered}};
  if (json) {
    std::cout << json_line(j) << "\n";
    return ok;
  }
  for (const char* key : {"name", "visible", "in_flight", "delayed", "oldest_age_ms", "sent",
                          "received", "acked", "dead_lettered"}) {
    std::string k = key;
    std::cout << k << ":" << std::string(15 - k.size(), ' ')
              << (j[k].is_string() ? j[k].get<std::string>() : j[k].dump()) << "\n";
  }
  return ok;
}

int queue_purge(client& c, const std::string& queue) {
  auto n = c.purge(queue);
  if (!n)
    return fail(n.error());
  std::cout << "purged " << *n << "\n";
  return ok;
}

int queue_delete(client& c, const std::string& queue) {
  if (auto err = c.delete_queue(queue))
    return fail(err);
  return ok;
}

int send(client& c, const std::string& queue, const std::string& body,
         const outgoing_message& prototype, bool json) {
  constexpr size_t max_batch = 1000;
  auto print = [&](const std::vector<std::string>& ids) {
    for (const auto& id : ids)
      std::cout << (json ? json_line({{"id", id}}) : id) << "\n";
  };
  auto flush = [&](std::vector<outgoing_message>& batch) -> int {
    if (batch.empty())
      return ok;
    auto ids = c.send(queue, batch);
    if (!ids)
      return fail(ids.error());
    print(*ids);
    batch.clear();
    return ok;
  };
  std::vector<outgoing_message> batch;
  if (body != "-") {
    batch.push_back(prototype);
    batch.back().body = body;
    return flush(batch);
  }
  // One message per non-empty line of standard input, sent in batches.
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty())
      continue;
    batch.push_back(prototype);
    batch.back().body = line;
    if (batch.size() == max_batch)
      if (int code = flush(batch); code != ok)
        return code;
  }
  return flush(batch);
}

int recv(client& c, const std::string& queue, const receive_request& request, bool ack_them,
         bool json) {
  auto got = c.receive(queue, request);
  if (!got)
    return fail(got.error());
  std::vector<std::string> receipts;
  for (const auto& d : *got) {
    const auto& m = *d.message;
    receipts.push_back(d.receipt);
    if (json)
      std::cout << json_line({{"id", m.id},
                              {"body", m.body},
                              {"receipt", d.receipt},
                              {"receive_count", d.receive_count},
                              {"attributes", attributes_json(m.attributes)},
                              {"sent_at_us", m.sent_at_us},
                              {"enqueued_at_ms", m.enqueued_at_ms},
                              {"correlation_id", m.correlation_id},
                              {"causation_id", m.causation_id}})
                << "\n";
    else
      std::cout << m.id << "\t" << d.receipt << "\treceive_count=" << d.receive_count << "\t"
                << m.body << "\n";
  }
  if (!ack_them || receipts.empty())
    return ok;
  auto results = c.ack(queue, receipts);
  if (!results)
    return fail(results.error());
  return print_ack_failures(*results);
}

int ack(client& c, const std::string& queue, const std::vector<std::string>& receipts) {
  auto results = c.ack(queue, receipts);
  if (!results)
    return fail(results.error());
  return print_ack_failures(*results);
}

int nack(client& c, const std::string& queue, const nack_request& request) {
  if (auto err = c.nack(queue, request))
    return fail(err);
  return ok;
}

int visibility(client& c, const std::string& queue, const std::string& receipt, int64_t ms) {
  if (auto err = c.change_visibility(queue, receipt, ms))
    return fail(err);
  return ok;
}

int dlq_ls(client& c, const std::string& sink, uint32_t max, bool json) {
  auto records = c.dead_letters(sink, max);
  if (!records)
    return fail(records.error());
  for (const auto& d : *records) {
    if (!json) {
      std::cout << d.message.id << "\treason=" << d.death.reason << "\tsource=" << d.death.source
                << "\treceive_count=" << d.death.receive_count << "\terror=" << d.death.error
                << "\t" << d.message.body << "\n";
      continue;
    }
    auto history = nlohmann::json::array();
    for (const auto& h : d.message.history)
      history.push_back({{"reason", h.reason},
                         {"error", h.error},
                         {"source", h.source},
                         {"receive_count", h.receive_count}});
    std::cout << json_line({{"id", d.message.id},
                            {"body", d.message.body},
                            {"reason", d.death.reason},
                            {"error", d.death.error},
                            {"source", d.death.source},
                            {"receive_count", d.death.receive_count},
                            {"first_failure_ms", d.death.first_failure_ms},
                            {"last_failure_ms", d.death.last_failure_ms},
                            {"dead_at_ms", d.death.dead_at_ms},
                            {"attributes", attributes_json(d.message.attributes)},
                            {"history", history}})
              << "\n";
  }
  return ok;
}

int dlq_redrive(client& c, const std::string& sink, const redrive_request& request, bool json) {
  auto r = c.redrive(sink, request);
  if (!r)
    return fail(r.error());
  if (json) {
    std::cout << json_line({{"moved", r->moved}, {"dry_run", request.dry_run}, {"ids", r->ids}})
              << "\n";
    return ok;
  }
  std::cout << (request.dry_run ? "would redrive " : "redrove ") << r->moved << "\n";
  if (request.dry_run)
    for (const auto& id : r->ids)
      std::cout << id << "\n";
  return ok;
}

int dlq_purge(client& c, const std::string& sink) {
  auto n = c.purge_dead_letters(sink);
  if (!n)
    return fail(n.error());
  std::cout << "purged " << *n << "\n";
  return ok;
}

} // namespace mailroom::cli
