// The state of one dead-letter sink: dead messages in arrival order, with their death records.
// Like queue_state it does no I/O; every change comes back as a write_batch to commit.
#pragma once

#include "journal.hpp"
#include "mailroom/types.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace mailroom {

class dead_letter_state {
public:
  explicit dead_letter_state(std::string name) : name_(std::move(name)) {}

  const std::string& name() const { return name_; }
  size_t size() const { return by_order_.size(); }

  /// Takes dead messages in. A message id already here is replaced: a queue that crashed
  /// after handing a message over hands it over again, and it must not count twice.
  write_batch accept(std::vector<dead_letter> records);

  /// Up to `max` records, oldest first, without consuming them.
  std::vector<dead_letter> list(uint32_t max) const;

  /// Up to `max` records matching `filter`, oldest first.
  std::vector<dead_letter> select(const redrive_filter& filter, size_t max) const;

  /// Removes records by message id (after a redrive committed). Unknown ids are skipped.
  write_batch remove(const std::vector<std::string>& ids);

  std::pair<uint64_t, write_batch> purge();

  /// Recovery: one stored record.
  void restore(dead_letter record);

private:
  /// Keeps `record` unless one with its id is stored (which then stays). False if it was.
  bool insert(dead_letter record);

  std::string name_;
  uint64_t next_order_ = 1;
  std::map<uint64_t, dead_letter> by_order_;
  std::unordered_map<std::string, uint64_t> order_by_id_;
};

} // namespace mailroom
