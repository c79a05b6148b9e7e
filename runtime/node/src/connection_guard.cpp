#include "connection_guard.hpp"

#include "mailroom/duration.hpp"

#include <algorithm>
#include <climits>
#include <cstring>

namespace mailroom {

namespace {

// Cap'n Proto refuses more segments than this in one message (serialize.c++).
constexpr uint32_t max_segments = 512;

uint32_t le32(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

} // namespace

bool frame_budget::take(uint64_t bytes) {
  if (bytes > limit_ - held_)
    return false;
  held_ += bytes;
  return true;
}

connection_guard::connection_guard(connection_limits limits, std::shared_ptr<frame_budget> budget,
                                   int64_t now_ms)
    : limits_(limits), budget_(std::move(budget)), last_activity_ms_(now_ms) {}

connection_guard::~connection_guard() {
  release();
}

void connection_guard::release() {
  budget_->give(held_);
  held_ = 0;
}

void connection_guard::call_finished(int64_t now_ms) {
  if (calls_ > 0)
    --calls_;
  last_activity_ms_ = now_ms;
}

std::optional<closing> connection_guard::on_read(const void* data, size_t n, int64_t now_ms) {
  last_activity_ms_ = now_ms;
  auto* p = static_cast<const uint8_t*>(data);
  while (n > 0) {
    if (body_left_ > 0) {
      auto k = static_cast<size_t>(std::min<uint64_t>(body_left_, n));
      body_left_ -= k;
      p += k;
      n -= k;
      if (body_left_ == 0)
        release(); // the frame is complete: capnp hands it to the RPC system now
      continue;
    }
    if (table_.empty())
      frame_started_ms_ = now_ms;
    auto k = std::min(n, table_size_ - table_.size());
    table_.insert(table_.end(), p, p + k);
    p += k;
    n -= k;
    if (table_.size() == 8 && table_size_ == 8) {
      uint32_t segments = le32(table_.data()) + 1;
      if (segments == 0 || segments > max_segments)
        return closing{"segments", "a frame announces " +
                                       std::to_string(le32(table_.data()) + uint64_t{1}) +
                                       " segments (at most " + std::to_string(max_segments) + ")"};
      // One word per segment size after the count, padded to whole 8-byte words.
      table_size_ = (4 * (segments + 1) + 7) / 8 * 8;
    }
    if (table_.size() == table_size_)
      if (auto refused = table_complete())
        return refused;
  }
  return std::nullopt;
}

std::optional<closing> connection_guard::table_complete() {
  uint32_t segments = le32(table_.data()) + 1;
  uint64_t words = 0;
  for (uint32_t i = 0; i < segments; ++i)
    words += le32(table_.data() + 4 + 4 * i);
  uint64_t bytes = words * 8 + table_size_;
  if (bytes > limits_.max_frame_bytes)
    return closing{"max_frame_size",
                   "a frame of " + std::to_string(bytes) + " bytes exceeds the limit of " +
                       std::to_string(limits_.max_frame_bytes) + " ([node] max_frame_size)"};
  if (!budget_->take(bytes))
    return closing{"max_incomplete_frames",
                   "a frame of " + std::to_string(bytes) + " bytes does not fit in what " +
                       "incomplete frames may hold node-wide (" + std::to_string(budget_->held()) +
                       " of " + std::to_string(budget_->limit()) +
                       " bytes held; [node] max_incomplete_frames)"};
  held_ = bytes;
  body_left_ = words * 8;
  table_.clear();
  table_size_ = 8;
  if (body_left_ == 0)
    release();
  return std::nullopt;
}

int64_t connection_guard::deadline_ms() const {
  if (in_frame())
    return frame_started_ms_ + limits_.frame_timeout_ms;
  if (calls_ > 0)
    return INT64_MAX;
  return last_activity_ms_ + limits_.idle_timeout_ms;
}

closing connection_guard::deadline_reason() const {
  if (in_frame())
    return {"frame_timeout", "a frame did not arrive whole within " +
                                 format_duration_ms(limits_.frame_timeout_ms) +
                                 " ([node] frame_timeout)"};
  return {"idle_timeout",
          "idle for " + format_duration_ms(limits_.idle_timeout_ms) + " ([node] idle_timeout)"};
}

} // namespace mailroom
