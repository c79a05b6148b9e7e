// What one client connection may cost the client endpoint, as a pure state class: it reads the
// Cap'n Proto stream framing of the bytes the client sends (a segment table, then the segments)
// and says when the connection must be closed. Time is passed in, so tests drive it directly.
//
// Why here and not in Cap'n Proto: capnp allocates a frame's whole announced size as soon as
// its segment table arrives, then waits for the bytes. A client that announces 64 MiB and
// trickles made the node hold that allocation indefinitely, once per connection. The guard
// sees the table first (it wraps the stream capnp reads from) and refuses a frame over the
// limit, one the node-wide budget for incomplete frames cannot hold, or one that does not
// arrive by its deadline; and it closes a connection idle longer than the idle timeout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mailroom {

/// Bytes that announced frames still hold, shared by every connection of one endpoint (all on
/// the endpoint's single event-loop thread, so no lock).
class frame_budget {
public:
  explicit frame_budget(uint64_t limit) : limit_(limit) {}
  bool take(uint64_t bytes);
  void give(uint64_t bytes) { held_ -= bytes; }
  uint64_t held() const { return held_; }
  uint64_t limit() const { return limit_; }

private:
  uint64_t limit_;
  uint64_t held_ = 0;
};

/// Why a connection is closed: the [node] key of the limit it reached, and the whole story.
struct closing {
  std::string limit; ///< "max_frame_size", "max_incomplete_frames", "frame_timeout", ...
  std::string reason;
};

struct connection_limits {
  uint64_t max_frame_bytes;
  int64_t frame_timeout_ms;
  int64_t idle_timeout_ms;
};

class connection_guard {
public:
  connection_guard(connection_limits limits, std::shared_ptr<frame_budget> budget, int64_t now_ms);
  ~connection_guard(); ///< returns what an incomplete frame still held to the budget

  connection_guard(const connection_guard&) = delete;
  connection_guard& operator=(const connection_guard&) = delete;

  /// The client sent `n` bytes. A reason when the connection must close (the frame is over
  /// the limit, or the budget cannot hold it).
  std::optional<closing> on_read(const void* data, size_t n, int64_t now_ms);
  /// The node wrote to the client.
  void on_write(int64_t now_ms) { last_activity_ms_ = now_ms; }
  /// A call began or finished: a connection waiting for an answer (a long poll) is not idle.
  void call_started() { ++calls_; }
  void call_finished(int64_t now_ms);

  /// When the connection must close if nothing happens before; INT64_MAX: never.
  int64_t deadline_ms() const;
  /// Why it is closed at deadline_ms() (e.g. "idle for 5m").
  closing deadline_reason() const;

  bool in_frame() const { return !table_.empty() || body_left_ > 0; }

private:
  std::optional<closing> table_complete();
  void release();

  connection_limits limits_;
  std::shared_ptr<frame_budget> budget_;
  std::vector<uint8_t> table_; ///< the segment table read so far
  size_t table_size_ = 8;      ///< bytes of the table once its first word is read
  uint64_t body_left_ = 0;     ///< bytes of the current frame's segments still to come
  uint64_t held_ = 0;          ///< taken from the budget for the current frame
  int64_t frame_started_ms_ = 0;
  int64_t last_activity_ms_;
  uint32_t calls_ = 0;
};

} // namespace mailroom
