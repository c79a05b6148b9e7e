// What a saga manager keeps about its instances besides their actors, with no actor or I/O
// inside (time is passed in, so it is tested on virtual time like the other state classes):
//   timers     at most one per instance: which instance wakes when (a step's timeout, a retry);
//   memory     which instances started with an idempotency key finished lately, so that a start
//              with the same key racing the end still finds the instance (later starts find it
//              in the journal);
//   metrics    instances by state, starts and ends, compensations, step latencies.
#pragma once

#include "mailroom/saga_types.hpp"

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace mailroom {

class saga_book {
public:
  /// How long a finished keyed instance is remembered.
  static constexpr int64_t finished_memory_ms = 10 * 60 * 1000;
  /// Step latencies kept for the percentiles (the most recent ones).
  static constexpr size_t latency_samples = 4096;

  // Timers.
  /// Sets the instance's timer (replacing the one it had).
  void wake_at(const std::string& id, int64_t at_ms);
  void cancel_wake(const std::string& id);
  /// The instances whose timers are due by `now_ms`, earliest first; their timers are gone.
  std::vector<std::string> due(int64_t now_ms);
  std::optional<int64_t> next_wake() const;

  // Memory of finished keyed instances.
  void finished_with_key(const std::string& id, int64_t now_ms);
  bool finished_recently(const std::string& id) const { return recently_finished_.count(id) > 0; }

  // Metrics.
  void started() { ++counters_.started; }
  /// An instance entered `to`, from `from` (nullopt: new to the book, e.g. recovered). Ends are
  /// counted as completed or compensated; the by-state counts follow.
  void moved(std::optional<saga_status> from, saga_status to);
  void step_replied(int64_t latency_ms);
  void compensations_sent(uint64_t n) { counters_.compensations_sent += n; }
  saga_metrics metrics() const;

private:
  std::multimap<int64_t, std::string> wakes_;        // due time → instance
  std::unordered_map<std::string, int64_t> wake_of_; // instance → its due time
  std::unordered_set<std::string> recently_finished_;
  std::deque<std::pair<int64_t, std::string>> finished_order_; // oldest first
  saga_metrics counters_;                                      // by-state fields kept live
  std::vector<int64_t> latencies_;                             // ring of recent step latencies
  size_t next_latency_ = 0;
};

} // namespace mailroom
