// The per-message index of a queue: what it needs to schedule deliveries, 16 bytes a message,
// with the bodies elsewhere (queue_state's segments, cached or in the journal).
//
// Sequence numbers are handed out in increasing order and messages leave in any order, so the
// index is a sorted map of pages of 4096 consecutive sequence numbers: appending and lookups are
// a page lookup and an array index; a page is freed once its last message is removed. A removed
// message in a page that still has live ones costs its 16 bytes until the page empties: one
// message kept in flight for hours pins at most one page (64 KiB), not everything after it.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

namespace mailroom {

/// Where a message is in its lifecycle (see queue_state.hpp); `absent`: no message here.
enum class message_phase : uint8_t { absent, pending, delayed, ready, in_flight, dead_lettering };

struct message_slot {
  int64_t visible_at_ms = 0;  ///< delayed: when it becomes ready; in flight: when the lease ends
  uint32_t receive_count = 0; ///< deliveries so far
  uint32_t offset : 24 = 0;   ///< place in its segment: the segment starts at seq - offset
  message_phase state : 8 = message_phase::absent;
};
static_assert(sizeof(message_slot) == 16);

class message_index {
public:
  /// The message `seq`, or nullptr.
  message_slot* find(uint64_t seq) {
    auto page = pages_.find(seq >> page_bits);
    if (page == pages_.end())
      return nullptr;
    auto at = seq & page_mask;
    if (at >= page->second.slots.size() || page->second.slots[at].state == message_phase::absent)
      return nullptr;
    return &page->second.slots[at];
  }
  const message_slot* find(uint64_t seq) const {
    return const_cast<message_index*>(this)->find(seq);
  }

  /// Adds message `seq` (in state `pending`). REQUIRES: `seq` is absent.
  message_slot& add(uint64_t seq, uint32_t offset) {
    auto& page = pages_[seq >> page_bits];
    auto at = seq & page_mask;
    if (at >= page.slots.size()) {
      slot_capacity_ -= page.slots.capacity();
      page.slots.resize(at + 1);
      slot_capacity_ += page.slots.capacity();
    }
    auto& slot = page.slots[at];
    slot = message_slot{};
    slot.offset = offset;
    slot.state = message_phase::pending;
    ++page.live;
    ++size_;
    return slot;
  }

  /// Removes message `seq`, if there is one.
  void erase(uint64_t seq) {
    auto page = pages_.find(seq >> page_bits);
    if (page == pages_.end())
      return;
    auto at = seq & page_mask;
    auto& slots = page->second.slots;
    if (at >= slots.size() || slots[at].state == message_phase::absent)
      return;
    slots[at].state = message_phase::absent;
    --size_;
    if (--page->second.live == 0) {
      slot_capacity_ -= slots.capacity();
      pages_.erase(page);
    }
  }

  size_t size() const { return size_; }
  /// What the index takes in memory: its slots (also the removed ones of pages still in use)
  /// and its pages' map nodes.
  size_t memory_bytes() const {
    return slot_capacity_ * sizeof(message_slot) + pages_.size() * (sizeof(page) + 48);
  }

  /// Calls `visit(seq, slot)` for every message, oldest first, until it returns false. `visit`
  /// may change the slot, but not add or erase messages.
  template <class Visit>
  void for_each(Visit&& visit) {
    for (auto& [index, page] : pages_) {
      auto base = index << page_bits;
      for (size_t at = 0; at < page.slots.size(); ++at)
        if (page.slots[at].state != message_phase::absent && !visit(base + at, page.slots[at]))
          return;
    }
  }
  template <class Visit>
  void for_each(Visit&& visit) const {
    const_cast<message_index*>(this)->for_each(
        [&](uint64_t seq, const message_slot& slot) { return visit(seq, slot); });
  }

private:
  static constexpr unsigned page_bits = 12;
  static constexpr uint64_t page_mask = (uint64_t{1} << page_bits) - 1;
  struct page {
    std::vector<message_slot> slots; ///< grows as sequence numbers are appended
    uint32_t live = 0;
  };
  std::map<uint64_t, page> pages_; // by seq >> page_bits
  size_t size_ = 0;
  size_t slot_capacity_ = 0; // slots allocated in all pages
};

} // namespace mailroom
