// The node's memory budget ([node] max_memory). Queues charge what they hold in memory (their
// index, cached bodies, sends not committed yet) and, apart, the sends they hold back. Above the
// soft limit (three quarters of the budget) a queue holds new sends: they are taken, and
// confirmed, once consumers have freed memory, in the order they came. A send that would take
// what is held past the budget is refused with errc::memory_full. Receives, acks and purges are
// never held: they are what frees memory. RabbitMQ's memory alarm blocks publishers the same way.
//
// Thread-safe: queues charge it from their actors' threads.
#pragma once

#include <caf/error.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace mailroom {

/// What the budget holds now (node::memory()).
struct memory_use {
  size_t limit_bytes = 0;  ///< 0: no limit
  size_t used_bytes = 0;   ///< held by queues: index, cached and pending bodies
  size_t held_bytes = 0;   ///< sends held back until there is room
  uint64_t held_sends = 0; ///< how many sends those are
};

/// Why `limit_bytes` cannot be a node's budget: 0 (no limit) or at least min_memory_limit.
/// Below that a node would hold or refuse every send (the default queue takes 256 KiB bodies).
constexpr size_t min_memory_limit = size_t{1} << 20;
caf::error check_memory_limit(size_t limit_bytes);

class memory_budget {
public:
  /// `limit_bytes` 0: no limit (nothing is ever held or refused).
  explicit memory_budget(size_t limit_bytes);

  memory_budget(const memory_budget&) = delete;
  memory_budget& operator=(const memory_budget&) = delete;

  size_t limit() const { return limit_; }
  size_t soft_limit() const { return soft_limit_; }
  memory_use use() const;

  /// Adds `delta` bytes held by a queue (negative: it freed them). Freeing below the soft limit
  /// wakes whoever waits for room.
  void charge(int64_t delta);
  /// Adds (or removes, with negative values) sends held back and their bytes.
  void hold(int64_t sends, int64_t bytes);

  /// Whether new sends must be held now.
  bool over_soft_limit() const;
  /// Why a send of `bytes`, by `who`, cannot be held, if taking it would pass the limit.
  caf::error refusal(size_t bytes, const std::string& who) const;
  /// Runs `wake` once usage is below the soft limit: at once if it is, otherwise on the thread
  /// that frees the memory (so `wake` should only send a message).
  void when_room(std::function<void()> wake);

private:
  void wake_waiters();

  const size_t limit_;
  const size_t soft_limit_;
  std::atomic<int64_t> used_{0};
  std::atomic<int64_t> held_bytes_{0};
  std::atomic<int64_t> held_sends_{0};
  std::atomic<bool> anyone_waiting_{false};
  std::mutex waiters_mutex_; // guards waiters_
  std::vector<std::function<void()>> waiters_;
};

} // namespace mailroom
