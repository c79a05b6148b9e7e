#include "dead_letter/dead_letter_state.hpp"

#include "codec.hpp"

namespace mailroom {

bool dead_letter_state::insert(dead_letter record) {
  auto id = record.message.id;
  if (order_by_id_.count(id))
    return false; // the stored one stays (see accept())
  auto order = next_order_++;
  by_order_.emplace(order, std::move(record));
  order_by_id_[id] = order;
  return true;
}

write_batch dead_letter_state::accept(std::vector<dead_letter> records) {
  write_batch writes;
  for (auto& r : records) {
    // An id this sink holds is the same message shipped again (its queue did not learn that the
    // sink had it before a crash): the stored record stays, here and in the journal.
    if (order_by_id_.count(r.message.id))
      continue;
    writes.put_dead_letter(name_, r.message.id, codec::encode_dead_letter(r));
    insert(std::move(r));
  }
  return writes;
}

std::vector<dead_letter> dead_letter_state::list(uint32_t max) const {
  return select(redrive_filter{}, max);
}

std::vector<dead_letter> dead_letter_state::select(const redrive_filter& filter, size_t max) const {
  std::vector<dead_letter> out;
  for (const auto& [order, record] : by_order_) {
    if (out.size() >= max)
      break;
    if (filter.matches(record))
      out.push_back(record);
  }
  return out;
}

write_batch dead_letter_state::remove(const std::vector<std::string>& ids) {
  write_batch writes;
  for (const auto& id : ids) {
    auto it = order_by_id_.find(id);
    if (it == order_by_id_.end())
      continue;
    by_order_.erase(it->second);
    order_by_id_.erase(it);
    writes.delete_dead_letter(name_, id);
  }
  return writes;
}

std::pair<uint64_t, write_batch> dead_letter_state::purge() {
  uint64_t n = by_order_.size();
  by_order_.clear();
  order_by_id_.clear();
  write_batch writes;
  writes.delete_sink_data(name_);
  return {n, std::move(writes)};
}

void dead_letter_state::restore(dead_letter record) {
  insert(std::move(record));
}

} // namespace mailroom
