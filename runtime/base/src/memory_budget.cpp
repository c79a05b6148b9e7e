#include "mailroom/memory_budget.hpp"

#include "mailroom/error.hpp"

namespace mailroom {

namespace {

std::string mebibytes(int64_t bytes) {
  return std::to_string((bytes + (1 << 19)) >> 20) + " MiB";
}

} // namespace

caf::error check_memory_limit(size_t limit_bytes) {
  if (limit_bytes == 0 || limit_bytes >= min_memory_limit)
    return {};
  return make_error(errc::invalid_argument, "[node] max_memory of " + std::to_string(limit_bytes) +
                                                " bytes is below the least a node runs with, " +
                                                std::to_string(min_memory_limit) +
                                                " (1 MiB); 0 means no limit");
}

memory_budget::memory_budget(size_t limit_bytes)
    : limit_(limit_bytes), soft_limit_(limit_bytes / 4 * 3) {}

memory_use memory_budget::use() const {
  return {limit_, static_cast<size_t>(std::max<int64_t>(0, used_.load())),
          static_cast<size_t>(std::max<int64_t>(0, held_bytes_.load())),
          static_cast<uint64_t>(std::max<int64_t>(0, held_sends_.load()))};
}

void memory_budget::charge(int64_t delta) {
  auto now = used_.fetch_add(delta) + delta;
  if (delta < 0 && anyone_waiting_.load() && now <= static_cast<int64_t>(soft_limit_))
    wake_waiters();
}

void memory_budget::hold(int64_t sends, int64_t bytes) {
  held_sends_ += sends;
  held_bytes_ += bytes;
}

bool memory_budget::over_soft_limit() const {
  return limit_ > 0 && used_.load() > static_cast<int64_t>(soft_limit_);
}

caf::error memory_budget::refusal(size_t bytes, const std::string& who) const {
  auto used = used_.load(), held = held_bytes_.load();
  if (limit_ == 0 || used + held + static_cast<int64_t>(bytes) <= static_cast<int64_t>(limit_))
    return {};
  return make_error(errc::memory_full,
                    who + ": the node's memory is full (" + mebibytes(used) + " held by queues, " +
                        mebibytes(held) + " of sends waiting, limit " +
                        mebibytes(static_cast<int64_t>(limit_)) +
                        ", [node] max_memory); sends resume as consumers drain, receives and "
                        "acks go on");
}

void memory_budget::when_room(std::function<void()> wake) {
  {
    std::lock_guard<std::mutex> guard{waiters_mutex_};
    // The flag goes up before usage is read, and charge() lowers usage before it reads the
    // flag: whichever comes second sees the other, so no wake-up is lost.
    anyone_waiting_ = true;
    if (over_soft_limit()) {
      waiters_.push_back(std::move(wake));
      return;
    }
    anyone_waiting_ = !waiters_.empty();
  }
  wake();
}

void memory_budget::wake_waiters() {
  std::vector<std::function<void()>> woken;
  {
    std::lock_guard<std::mutex> guard{waiters_mutex_};
    woken.swap(waiters_);
    anyone_waiting_ = false;
  }
  for (auto& wake : woken)
    wake();
}

} // namespace mailroom
