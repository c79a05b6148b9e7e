// Producer deduplication for one queue: which dedup keys were sent within the window, and as
// which message id. Pure state like queue_state (no I/O, time passed in); changes come back as
// journal writes. Keys are grouped by the send batch that introduced them, so the journal holds
// one small row per batch (table `dedup`) and expiry deletes whole rows in batch order.
//
// Keys outlive the messages: an ack, a dead-lettering or a redrive does not forget a key before
// its window ends, which is what a producer retrying a send needs.
#pragma once

#include "codec.hpp"
#include "journal.hpp"

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace mailroom {

class dedup_index {
public:
  using entries = std::vector<std::pair<std::string, std::string>>; ///< key, message id

  /// A message's key: its dedup id, else with content-based dedup "sha256:<hex of body>", else
  /// empty (the message is not deduplicated).
  static std::string key_of(const std::string& dedup_id, const std::string& body,
                            bool content_based);

  /// The id `key` was first sent as, if its window is still open at `now_ms`; `batch` is then
  /// the first_seq of the send batch that introduced it.
  const std::string* find(const std::string& key, int64_t now_ms, uint64_t* batch = nullptr) const;

  /// Records the keys of the send batch starting at `first_seq` and journals them.
  void add(const std::string& queue, uint64_t first_seq, int64_t expires_at_ms, entries keys,
           write_batch& out);

  /// Forgets the keys of a batch whose send was aborted (its writes never committed).
  void forget_batch(uint64_t first_seq);

  /// Drops batches whose window ended and journals their deletion.
  void expire(const std::string& queue, int64_t now_ms, write_batch& out);

  /// Recovery: one journaled batch, in first_seq order.
  void restore(uint64_t first_seq, codec::dedup_records records);

  size_t size() const { return keys_.size(); }

private:
  struct entry {
    std::string id;
    int64_t expires_at_ms;
    uint64_t batch; ///< first_seq of the batch that holds it
  };
  struct batch {
    uint64_t first_seq;
    int64_t expires_at_ms;
    std::vector<std::string> keys;
  };

  void insert(uint64_t first_seq, int64_t expires_at_ms, entries keys);

  std::unordered_map<std::string, entry> keys_;
  std::deque<batch> batches_; // by first_seq
};

} // namespace mailroom
