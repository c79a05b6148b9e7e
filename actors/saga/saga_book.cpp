#include "saga/saga_book.hpp"

#include <algorithm>

namespace mailroom {

namespace {

uint64_t* count_of(saga_metrics& m, saga_status s) {
  switch (s) {
  case saga_status::running:
    return &m.running;
  case saga_status::compensating:
    return &m.compensating;
  case saga_status::parked:
    return &m.parked;
  default:
    return nullptr; // finished instances leave memory: counted as completed/compensated
  }
}

} // namespace

void saga_book::wake_at(const std::string& id, int64_t at_ms) {
  cancel_wake(id);
  wakes_.emplace(at_ms, id);
  wake_of_[id] = at_ms;
}

void saga_book::cancel_wake(const std::string& id) {
  auto it = wake_of_.find(id);
  if (it == wake_of_.end())
    return;
  auto [first, last] = wakes_.equal_range(it->second);
  for (auto w = first; w != last; ++w)
    if (w->second == id) {
      wakes_.erase(w);
      break;
    }
  wake_of_.erase(it);
}

std::vector<std::string> saga_book::due(int64_t now_ms) {
  std::vector<std::string> out;
  while (!wakes_.empty() && wakes_.begin()->first <= now_ms) {
    out.push_back(std::move(wakes_.begin()->second));
    wakes_.erase(wakes_.begin());
    wake_of_.erase(out.back());
  }
  return out;
}

std::optional<int64_t> saga_book::next_wake() const {
  if (wakes_.empty())
    return std::nullopt;
  return wakes_.begin()->first;
}

void saga_book::finished_with_key(const std::string& id, int64_t now_ms) {
  recently_finished_.insert(id);
  finished_order_.emplace_back(now_ms, id);
  while (!finished_order_.empty() && finished_order_.front().first < now_ms - finished_memory_ms) {
    recently_finished_.erase(finished_order_.front().second);
    finished_order_.pop_front();
  }
}

void saga_book::moved(std::optional<saga_status> from, saga_status to) {
  if (from)
    if (auto count = count_of(counters_, *from))
      --*count;
  if (auto count = count_of(counters_, to))
    ++*count;
  if (to == saga_status::completed && from != to)
    ++counters_.completed;
  if (to == saga_status::compensated && from != to)
    ++counters_.compensated;
}

void saga_book::step_replied(int64_t latency_ms) {
  ++counters_.step_replies;
  if (latencies_.size() < latency_samples)
    latencies_.push_back(latency_ms);
  else
    latencies_[next_latency_++ % latency_samples] = latency_ms;
}

saga_metrics saga_book::metrics() const {
  auto m = counters_;
  if (!latencies_.empty()) {
    auto sample = latencies_;
    auto at = [&](double q) {
      auto k = static_cast<size_t>(q * static_cast<double>(sample.size() - 1));
      std::nth_element(sample.begin(), sample.begin() + static_cast<std::ptrdiff_t>(k),
                       sample.end());
      return static_cast<double>(sample[k]);
    };
    m.step_latency_p50_ms = at(0.5);
    m.step_latency_p99_ms = at(0.99);
  }
  return m;
}

} // namespace mailroom
