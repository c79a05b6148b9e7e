// The state of one queue and every rule about it, with no actor, clock or I/O inside: time comes
// in as `now_ms` (unix ms) on every call, and every change that must be durable comes back as a
// write_batch for the caller to commit. queue_actor is the thin shell that does both; tests
// drive this class directly on virtual time.
//
// Message lifecycle:
//
//   send ─► PENDING ─commit─► DELAYED ─time─► READY ─receive─► IN_FLIGHT ─ack──────► removed
//                                ▲              ▲                 │   │
//                                │              └─visibility 0────┘   │
//                                └──nack / lease expiry (backoff)─────┘
//   any failure or receive with receive_count ≥ max_receive_count,
//   nack to the dead-letter sink, or retention expiry with a sink ─► DEAD_LETTERING
//   DEAD_LETTERING ─sink confirmed─► removed        DEAD_LETTERING ─sink failed─► DELAYED
//
// | transition                        | function                        | journaled as          |
// |-----------------------------------|---------------------------------|-----------------------|
// | send, redrive in                  | send(), accept_redrive()        | put_segment (+ state) |
// | PENDING → DELAYED/READY           | commit_send()                   | (the segment)         |
// | DELAYED → READY, lease expiry     | advance()                       | nothing: derived      |
// | READY → IN_FLIGHT                 | receive()                       | state event           |
// | IN_FLIGHT → removed               | ack()                           | removed event         |
// | IN_FLIGHT → DELAYED/READY         | nack(), change_visibility()     | state event           |
// | → DEAD_LETTERING → removed        | finish_dead_letters()           | removed event         |
//
// FIFO queues add one rule: only the head of a message group (its oldest message still in the
// queue) may be READY for receive; the others wait in their phase until it is removed (acked,
// dead-lettered, purged). So a retried head keeps its group waiting: strict order, one message in
// flight per group, other groups unaffected.
//
// Lease expiry is not journaled: a restarted queue sees the journaled lease end and applies
// the same backoff, whose jitter is derived from the queue, sequence number and receive count.
#pragma once

#include "queue/dedup_index.hpp"
#include "queue/message_index.hpp"
#include "codec.hpp"
#include "journal.hpp"
#include "mailroom/types.hpp"

#include <caf/expected.hpp>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace mailroom {

/// Catalog kind of a queue's sequence reservation; its blob is the decimal limit.
constexpr const char* sequence_catalog_kind = "sequence";

class queue_state {
public:
  using phase = message_phase;

  /// A message on its way to the dead-letter sink; `seq` is its place in this queue.
  struct outgoing_dead {
    uint64_t seq;
    dead_letter record;
  };

  /// How send() treats a batch with messages it cannot take.
  enum class batch_mode : uint8_t {
    all_or_none, ///< any refusal refuses the batch (topics stage copies this way)
    each,        ///< each message on its own: the rest go in, refusals come back per message
  };

  struct send_outcome {
    /// One per message sent, in order; a duplicate gets the id it was first sent as; a refused
    /// one (batch_mode::each) an empty id and its entry in `refused`.
    std::vector<std::string> ids;
    std::vector<std::pair<size_t, caf::error>> refused; ///< (position in the batch, why)
    write_batch writes;
    /// A new sequence reservation, if this send passed the old one. Commit it no later than
    /// `writes` (together, or before): it must be durable even if `writes` are aborted.
    write_batch reservation;
    uint64_t token = 0; ///< hand to commit_send()/abort_send() once `writes` committed/failed
    /// Earlier sends, not committed yet, whose ids duplicates in this batch were answered with:
    /// confirm only once they are committed; if one is aborted, the duplicate was not sent.
    std::vector<uint64_t> waits_for;
  };

  struct receive_outcome {
    std::vector<delivery> deliveries;
    write_batch writes;
    std::vector<outgoing_dead> dead;
    caf::error error; ///< a body could not be read back (the deliveries before it stand)
  };

  struct settle_outcome {
    std::vector<ack_outcome> results; ///< one per receipt, in order
    write_batch writes;
    std::vector<outgoing_dead> dead;
  };

  struct tick_outcome {
    write_batch writes;
    std::vector<outgoing_dead> dead;
  };

  explicit queue_state(queue_config config);

  const queue_config& config() const { return config_; }
  /// Applies a new configuration (validated by the caller) to future sends and deliveries.
  void reconfigure(queue_config config) { config_ = std::move(config); }
  const std::string& name() const { return config_.name; }

  /// `shared` (id 0: none): the messages are a topic's copies whose shared part is journaled
  /// there, one entry per message; their segment then names it instead of holding it again.
  caf::expected<send_outcome> send(std::vector<outgoing_message> messages, int64_t now_ms,
                                   batch_mode mode = batch_mode::all_or_none,
                                   const publication_ref& shared = {});
  /// Takes messages from a dead-letter sink back in, keeping ids and history.
  caf::expected<send_outcome> accept_redrive(std::vector<envelope> messages, int64_t now_ms);
  void commit_send(uint64_t token, int64_t now_ms);
  /// Whether a send's writes are neither committed nor aborted yet.
  bool is_pending(uint64_t token) const { return pending_.count(token) > 0; }
  void abort_send(uint64_t token);

  /// Leases up to `max` ready messages. `visibility_ms` -1 means the queue's timeout.
  receive_outcome receive(uint32_t max, int64_t visibility_ms, int64_t now_ms);
  settle_outcome ack(const std::vector<std::string>& receipts, int64_t now_ms);
  settle_outcome nack(const std::vector<nack_request>& requests, int64_t now_ms);
  caf::expected<write_batch> change_visibility(const std::string& receipt, int64_t visibility_ms,
                                               int64_t now_ms);

  /// Moves everything whose time has come: delays ending, leases expiring, retention.
  tick_outcome advance(int64_t now_ms);
  /// The earliest time advance() has work to do, if any.
  std::optional<int64_t> next_deadline() const;

  /// The sink has the messages durably: remove them here.
  write_batch finish_dead_letters(const std::vector<uint64_t>& seqs);
  /// The sink refused or was unreachable: try again after `retry_ms`.
  void abort_dead_letters(const std::vector<uint64_t>& seqs, int64_t now_ms, int64_t retry_ms);

  /// Removes every message that is not waiting for a commit. Returns how many.
  std::pair<uint64_t, write_batch> purge();

  queue_stats stats(int64_t now_ms) const;
  /// Whether a receive could deliver something now (FIFO: a group whose head is ready).
  bool has_ready() const { return config_.fifo ? !ready_groups_.empty() : counters_.visible > 0; }

  /// Reads committed segments back from the journal, in order from the one starting at
  /// `first_seq`, passing each to `visit` while it returns true.
  using segment_reader = std::function<caf::error(
      uint64_t first_seq,
      const std::function<bool(uint64_t first_seq, std::vector<envelope>)>& visit)>;
  /// Keeps at most about `cache_bytes` of bodies in memory; the rest are read back with
  /// `reader`, a batch of segments ahead of the consumers. Without a reader every body stays.
  void keep_bodies_in_journal(segment_reader reader, size_t cache_bytes);
  /// Bytes of bodies held in memory now (cached and pending).
  size_t body_bytes() const { return cache_bytes_ + pending_bytes_; }
  /// While the node's memory is short, the cache shrinks to `squeezed_cache_bytes` (what is
  /// cached beyond goes back to the journal); then it may grow to its budget again.
  void squeeze_cache(bool squeezed);
  static constexpr size_t squeezed_cache_bytes = 1 << 20;
  /// About what this queue holds in memory: bodies, index and the side tables (counted per
  /// entry with the allocator's overhead; strings by size). What the node's memory budget sees.
  size_t memory_bytes() const;

  // Recovery: feed every segment, then every event in journal order, then finish_restore().
  /// A segment known by its index only (its bodies stay in the journal).
  caf::error restore_segment_index(uint64_t first_seq, uint32_t count, int64_t enqueued_at_ms);
  /// A segment with its envelopes (FIFO queues need their group ids; journals of format 1).
  caf::error restore_segment(uint64_t first_seq, std::vector<envelope> messages);
  void restore_events(uint64_t first_seq, const std::vector<codec::message_event>& events);
  /// Messages due by `now_ms` become ready at once; the rest wait on timers.
  void finish_restore(int64_t now_ms);
  /// Records each message's steps for `mailroom trace` (the node turns it on with its `trace`
  /// option; off by default, since it about halves queue throughput).
  void enable_trace(bool on) { trace_enabled_ = on; }

  /// Recovery: the dedup keys of one send batch.
  void restore_dedup(uint64_t first_seq, codec::dedup_records records) {
    dedup_.restore(first_seq, std::move(records));
  }
  /// Recovery: sequence numbers below `floor` may have been handed out before the restart.
  void restore_sequence_floor(uint64_t floor) { next_seq_ = std::max(next_seq_, floor); }

private:
  using stored = message_slot;
  /// One send batch as journaled: its messages are seq first_seq .. first_seq + count - 1.
  struct segment {
    uint32_t count = 0;
    uint32_t live = 0; ///< messages not removed yet; at 0 the segment is deleted
    int64_t enqueued_at_ms = 0;
    /// The envelopes, while cached (always while pending); null: only in the journal.
    std::shared_ptr<const std::vector<envelope_ptr>> bodies;
    size_t bytes = 0; ///< what `bodies` take, while set
  };
  /// Why a message failed, kept only for messages that did (most never do).
  struct failure {
    int64_t first_ms = 0;
    int64_t last_ms = 0;
    std::string error;
  };

  /// Collects events per segment, then emits them (or the segment's deletion) into a batch.
  class event_sink;

  /// Why `m`, delayed by `delay_ms`, cannot be sent here (FIFO rules, longest delay), if so.
  caf::error check_timing(const outgoing_message& m, int64_t delay_ms) const;
  /// Why `e` cannot be taken as the `taken`-th new message of a batch with `room` free places
  /// (batch_mode::each only; otherwise room is unbounded and enqueue() checks the depth).
  caf::error check_room(const envelope& e, size_t taken, size_t room) const;
  caf::expected<send_outcome> enqueue(std::vector<envelope> messages,
                                      const std::vector<int64_t>& delays, int64_t now_ms,
                                      const publication_ref& shared = {});
  /// The segment holding `seq`. REQUIRES: `seq` is in the index.
  std::map<uint64_t, segment>::iterator segment_of(uint64_t seq, const stored& m);
  /// The envelope of message `seq`, read back from the journal if it is not cached.
  caf::expected<envelope_ptr> body(uint64_t seq, const stored& m);
  void set_cache_budget(size_t bytes);
  /// Reads the segment at `first_seq` and a batch after it back, then evicts down to budget.
  caf::error load_bodies(uint64_t first_seq);
  void cache(uint64_t first_seq, segment& s);
  void uncache(uint64_t first_seq, segment& s);
  /// Adds the messages of a segment to the index (recovery and sends).
  segment& add_segment(uint64_t first_seq, uint32_t count, int64_t enqueued_at_ms);
  /// The first message that counts for age and retention (not pending or dead-lettering).
  std::optional<int64_t> oldest_enqueued_at() const;
  void set_phase(stored& m, phase next);
  void schedule(uint64_t seq, stored& m, phase next, int64_t at_ms);
  void unschedule(uint64_t seq, const stored& m);
  void make_ready(uint64_t seq, stored& m);
  /// Notes a step of message `seq`'s story (named by seq: its sent step holds the id, and `id`
  /// where a step should name it too); flush_trace() puts them in the batch being built.
  void record(uint64_t seq, uint32_t receive_count, const char* kind, int64_t at_ms,
              std::string detail, std::string id = {});
  /// Notes the sent (or redriven) step of `e`, which names it by id.
  void record_sent(const envelope& e, uint64_t seq, int64_t now_ms);
  void flush_trace(write_batch& out);
  /// The next ready sequence number to look at (may be stale: 0 or no longer ready).
  std::optional<uint64_t> next_ready();
  // FIFO groups: a group's messages in order; only the head may be delivered.
  bool is_group_head(uint64_t seq) const;
  void join_group(uint64_t seq);
  void leave_group(uint64_t seq);
  /// A delivery failed (nack without explicit delay, lease expiry).
  void fail(uint64_t seq, stored& m, int64_t at_ms, const std::string& error,
            std::optional<int64_t> retry_after_ms, event_sink* events,
            std::vector<outgoing_dead>& dead);
  void dead_letter_message(uint64_t seq, stored& m, std::string reason, int64_t now_ms,
                           std::vector<outgoing_dead>& dead);
  /// Resolves a receipt to its message, or an ack_outcome error.
  std::pair<stored*, uint64_t> find(const std::string& receipt, ack_outcome& out);
  codec::message_event state_event(uint64_t seq, const stored& m) const;

  queue_config config_;
  uint64_t next_seq_ = 1;
  // Sequence numbers are never reused, even when the newest segments were deleted before a
  // restart: a receipt from before the restart must not name a new message. So the queue
  // journals a reservation (catalog kind "sequence") before it hands out numbers past it.
  uint64_t reserved_seq_ = 0;
  message_index messages_;
  std::map<uint64_t, segment> segments_;               // by first_seq: oldest first
  std::unordered_map<uint64_t, failure> failures_;     // by seq
  std::unordered_map<uint64_t, std::string> group_of_; // FIFO only: seq → its group
  segment_reader reader_;
  size_t cache_budget_ = 0;    // now: cache_limit_, or less while squeezed
  size_t cache_limit_ = 0;     // as configured
  size_t cache_bytes_ = 0;     // bodies of committed segments held in memory
  size_t pending_bytes_ = 0;   // bodies of sends not committed yet (always held)
  std::set<uint64_t> cached_;  // committed segments with bodies: evicted newest first
  std::deque<uint64_t> ready_; // may hold stale seqs; skipped on pop
  // FIFO only (ready_ stays empty): members of each group in order, and the groups whose head
  // is ready (may hold stale entries; skipped on pop).
  std::unordered_map<std::string, std::deque<uint64_t>> groups_;
  std::deque<std::string> ready_groups_;
  std::set<std::pair<int64_t, uint64_t>> timers_; // (visible_at, seq) of delayed/in-flight
  std::unordered_map<uint64_t, std::vector<uint64_t>> pending_; // send token → seqs

  dedup_index dedup_;
  bool trace_enabled_ = false;
  std::vector<codec::trace_event> trace_;
  uint64_t trace_flushes_ = 0;
  static constexpr int64_t trace_retention_ms = 24LL * 3600 * 1000;
  queue_stats counters_; // depths by phase and counters since start; name and age filled on read
};

} // namespace mailroom
