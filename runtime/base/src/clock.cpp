#include "mailroom/clock.hpp"

#include "mailroom/ids.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_clock.hpp>
#include <caf/actor_system.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/send.hpp>

#include <vector>

namespace mailroom {

namespace {

class system_clock_impl final : public clock {
public:
  int64_t now_ms() const override { return unix_now_ms(); }

  void send_at(int64_t at_ms, const caf::actor& target, caf::message message) override {
    if (!target)
      return;
    auto delay = at_ms - now_ms();
    if (delay <= 0) {
      caf::anon_send(target, std::move(message));
      return;
    }
    auto& timers = target->home_system().clock();
    timers.schedule_message(timers.now() + std::chrono::milliseconds(delay),
                            caf::actor_cast<caf::strong_actor_ptr>(target),
                            caf::make_mailbox_element(nullptr, caf::make_message_id(),
                                                      caf::no_stages, std::move(message)));
  }
};

} // namespace

clock_ptr make_system_clock() {
  return std::make_shared<system_clock_impl>();
}

int64_t virtual_clock::now_ms() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return now_;
}

void virtual_clock::send_at(int64_t at_ms, const caf::actor& target, caf::message message) {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    if (at_ms > now_) {
      timers_.emplace(std::pair{at_ms, next_order_++}, std::pair{target.address(), message});
      return;
    }
  }
  caf::anon_send(target, std::move(message));
}

void virtual_clock::advance(int64_t ms) {
  std::vector<std::pair<caf::actor_addr, caf::message>> due;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    now_ += ms;
    auto end = timers_.upper_bound({now_, UINT64_MAX});
    for (auto it = timers_.begin(); it != end; ++it)
      due.push_back(std::move(it->second));
    timers_.erase(timers_.begin(), end);
  }
  for (auto& [addr, message] : due)
    if (auto target = caf::actor_cast<caf::actor>(addr))
      caf::anon_send(target, std::move(message));
}

size_t virtual_clock::pending() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return timers_.size();
}

} // namespace mailroom
