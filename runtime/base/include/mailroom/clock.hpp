// The time of a node: what every actor reads as "now" (unix milliseconds) and what drives every
// timer an actor sets (leases, delays, backoff, long polls, redrive rate, saga timeouts, alarm
// checks, service pauses). Production uses the system clock; tests use a virtual_clock that
// stands still until they advance it, so a 30-second lease is tested without waiting, and a
// timer nobody set never fires (a missing timer is a failing test, not a slow one).
//
// Why not CAF's actor_clock: CAF 0.17's test_coordinator drives it only when every actor runs
// on the test thread, and a node's journal runs threads of its own. One seam for "now" and
// "later" covers both the real node and its tests.
#pragma once

#include <caf/actor.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <utility>

namespace mailroom {

class clock {
public:
  virtual ~clock() = default;

  /// Unix milliseconds. Thread-safe.
  virtual int64_t now_ms() const = 0;

  /// Delivers `message` to `target` (anonymously) once now_ms() reaches `at_ms`; at once if it
  /// already has. Thread-safe. A target that is gone by then is skipped.
  virtual void send_at(int64_t at_ms, const caf::actor& target, caf::message message) = 0;

  /// send_at(now_ms() + delay_ms, ...) with the message made of `xs`.
  template <class... Ts>
  void send_after(int64_t delay_ms, const caf::actor& target, Ts&&... xs) {
    send_at(now_ms() + delay_ms, target, caf::make_message(std::forward<Ts>(xs)...));
  }
};

using clock_ptr = std::shared_ptr<clock>;

/// The system clock; its timers run on the target's actor system clock.
clock_ptr make_system_clock();

/// Virtual time for tests. Time moves only by advance(), which delivers every timer due by the
/// new time in order of due time. A timer set while advancing (by a receiver of a due message)
/// that is already due is delivered at once, like on the system clock.
class virtual_clock final : public clock {
public:
  explicit virtual_clock(int64_t start_ms) : now_(start_ms) {}

  int64_t now_ms() const override;
  void send_at(int64_t at_ms, const caf::actor& target, caf::message message) override;

  /// Moves time forward by `ms` and delivers the timers due by then. Receivers handle them on
  /// their own threads: a request sent to a receiver after this returns is handled after them.
  void advance(int64_t ms);
  /// Timers set and not delivered yet.
  size_t pending() const;

private:
  mutable std::mutex mutex_;
  int64_t now_;                               // GUARDED_BY(mutex_)
  uint64_t next_order_ = 0;                   // GUARDED_BY(mutex_)
  std::multimap<std::pair<int64_t, uint64_t>, // (due, order of setting)
                std::pair<caf::actor_addr, caf::message>>
      timers_; // GUARDED_BY(mutex_)
};

} // namespace mailroom
