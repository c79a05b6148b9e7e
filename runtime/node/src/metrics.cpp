#include "metrics.hpp"

#include "journal.hpp"
#include "mailroom/node.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <vector>

namespace mailroom {

namespace {

/// Label values escaped as the text format wants (backslash, quote, newline).
std::string label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"')
      out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

class exposition {
public:
  /// Starts a metric family: its HELP and TYPE lines.
  void family(const std::string& name, const char* type, const std::string& help) {
    out_ << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
  }
  void sample(const std::string& name, const std::string& labels, double value) {
    out_ << name;
    if (!labels.empty())
      out_ << '{' << labels << '}';
    out_ << ' ';
    if (std::isfinite(value) && value == std::floor(value) && std::fabs(value) < 1e15)
      out_ << static_cast<int64_t>(value);
    else
      out_ << value;
    out_ << '\n';
  }
  void histogram_of(const std::string& name, const std::string& help, const histogram& h) {
    family(name, "histogram", help);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < h.bounds.size(); ++i) {
      cumulative += h.counts[i];
      std::ostringstream le;
      le << h.bounds[i];
      sample(name + "_bucket", "le=\"" + le.str() + "\"", static_cast<double>(cumulative));
    }
    sample(name + "_bucket", "le=\"+Inf\"", static_cast<double>(h.count));
    sample(name + "_sum", "", h.sum);
    sample(name + "_count", "", static_cast<double>(h.count));
  }
  std::string text() const { return out_.str(); }

private:
  std::ostringstream out_;
};

} // namespace

std::string prometheus_metrics(node& n, connection_counts connections) {
  exposition m;
  // Queues: one sample per queue in each family, from each queue actor's stats.
  auto queues = n.queue_names();
  std::sort(queues.begin(), queues.end());
  std::vector<std::pair<std::string, queue_stats>> stats;
  for (const auto& q : queues)
    if (auto s = n.stats(q))
      stats.emplace_back(q, *s);
  struct queue_family {
    const char* name;
    const char* type;
    const char* help;
    double (*value)(const queue_stats&);
  };
  const queue_family families[] = {
      {"mailroom_queue_visible_messages", "gauge", "Messages ready for receive.",
       [](const queue_stats& s) { return static_cast<double>(s.visible); }},
      {"mailroom_queue_in_flight_messages", "gauge", "Messages leased to consumers.",
       [](const queue_stats& s) { return static_cast<double>(s.in_flight); }},
      {"mailroom_queue_delayed_messages", "gauge", "Messages waiting for a delay or a retry.",
       [](const queue_stats& s) { return static_cast<double>(s.delayed); }},
      {"mailroom_queue_oldest_age_seconds", "gauge", "Age of the oldest message.",
       [](const queue_stats& s) { return static_cast<double>(s.oldest_age_ms) / 1000; }},
      {"mailroom_queue_sent_total", "counter", "Messages accepted since the node started.",
       [](const queue_stats& s) { return static_cast<double>(s.sent); }},
      {"mailroom_queue_received_total", "counter", "Deliveries since the node started.",
       [](const queue_stats& s) { return static_cast<double>(s.received); }},
      {"mailroom_queue_acked_total", "counter", "Messages acked since the node started.",
       [](const queue_stats& s) { return static_cast<double>(s.acked); }},
      {"mailroom_queue_dead_lettered_total", "counter",
       "Messages moved to the dead-letter sink since the node started.",
       [](const queue_stats& s) { return static_cast<double>(s.dead_lettered); }},
  };
  for (const auto& f : families) {
    m.family(f.name, f.type, f.help);
    for (const auto& [q, s] : stats)
      m.sample(f.name, "queue=\"" + label(q) + "\"", f.value(s));
  }

  auto sinks = n.dead_letter_sink_names();
  std::sort(sinks.begin(), sinks.end());
  m.family("mailroom_sink_depth_messages", "gauge", "Dead letters held by a sink.");
  for (const auto& s : sinks)
    if (auto depth = n.dead_letter_depth(s))
      m.sample("mailroom_sink_depth_messages", "sink=\"" + label(s) + "\"",
               static_cast<double>(*depth));

  auto topics = n.topic_names();
  std::sort(topics.begin(), topics.end());
  std::vector<std::pair<std::string, topic_stats>> tstats;
  for (const auto& t : topics)
    if (auto s = n.topic_statistics(t))
      tstats.emplace_back(t, *s);
  m.family("mailroom_topic_published_total", "counter", "Messages published since start.");
  for (const auto& [t, s] : tstats)
    m.sample("mailroom_topic_published_total", "topic=\"" + label(t) + "\"",
             static_cast<double>(s.published));
  m.family("mailroom_topic_deliveries_total", "counter",
           "Copies enqueued into subscriber queues since start.");
  for (const auto& [t, s] : tstats)
    m.sample("mailroom_topic_deliveries_total", "topic=\"" + label(t) + "\"",
             static_cast<double>(s.deliveries));
  m.family("mailroom_topic_unmatched_total", "counter",
           "Messages no subscription's filter took, since start.");
  for (const auto& [t, s] : tstats)
    m.sample("mailroom_topic_unmatched_total", "topic=\"" + label(t) + "\"",
             static_cast<double>(s.unmatched));

  if (auto sagas = n.saga_statistics()) {
    m.family("mailroom_sagas", "gauge", "Saga instances by status, now.");
    m.sample("mailroom_sagas", "status=\"RUNNING\"", static_cast<double>(sagas->running));
    m.sample("mailroom_sagas", "status=\"COMPENSATING\"", static_cast<double>(sagas->compensating));
    m.sample("mailroom_sagas", "status=\"PARKED\"", static_cast<double>(sagas->parked));
    m.family("mailroom_sagas_finished_total", "counter", "Saga instances finished since start.");
    m.sample("mailroom_sagas_finished_total", "status=\"COMPLETED\"",
             static_cast<double>(sagas->completed));
    m.sample("mailroom_sagas_finished_total", "status=\"COMPENSATED\"",
             static_cast<double>(sagas->compensated));
    m.family("mailroom_sagas_started_total", "counter", "Saga instances started since start.");
    m.sample("mailroom_sagas_started_total", "", static_cast<double>(sagas->started));
    // Percentiles of a recent window, not a summary's: gauges, one per percentile.
    m.family("mailroom_saga_step_latency_p50_seconds", "gauge",
             "Median time from a step's command sent to its reply handled, over recent replies.");
    m.sample("mailroom_saga_step_latency_p50_seconds", "", sagas->step_latency_p50_ms / 1000);
    m.family("mailroom_saga_step_latency_p99_seconds", "gauge",
             "99th percentile of the same, over recent replies.");
    m.sample("mailroom_saga_step_latency_p99_seconds", "", sagas->step_latency_p99_ms / 1000);
  }

  auto journal = n.journal_internal().stats();
  m.family("mailroom_journal_commits_total", "counter", "Group commits since start.");
  m.sample("mailroom_journal_commits_total", "", static_cast<double>(journal.commits));
  m.histogram_of("mailroom_journal_group_batches", "Batches in one group commit.",
                 journal.group_batches);
  m.histogram_of("mailroom_journal_fsync_seconds", "One fdatasync of the journal's WAL.",
                 journal.fsync_seconds);
  m.family("mailroom_journal_accepting_writes", "gauge",
           "1 while the journal takes writes, 0 after a failed commit or fsync (fail-stop).");
  m.sample("mailroom_journal_accepting_writes", "", n.journal_internal().refusing_writes() ? 0 : 1);

  m.family("mailroom_connections", "gauge", "Connections open now, by face.");
  m.sample("mailroom_connections", "face=\"client\"", connections.client);
  m.sample("mailroom_connections", "face=\"http\"", connections.http);
  return m.text();
}

} // namespace mailroom
