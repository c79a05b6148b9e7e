// What a message takes in memory, about: its object, the allocator's overhead for its strings,
// and its bytes. One estimate for everything a queue charges to the node's memory budget: the
// bodies it caches (envelopes) and the sends it holds back (outgoing messages).
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

namespace mailroom {

template <class Message>
size_t message_bytes(const Message& m) {
  size_t bytes = sizeof(Message) + 64 + m.body.size() + m.id.size() + m.group_id.size() +
                 m.dedup_id.size() + m.causation_id.size() + m.correlation_id.size();
  for (const auto& a : m.attributes)
    bytes += a.key.size() + a.value.size() + a.data_type.size();
  return bytes;
}

template <class Message>
size_t message_bytes(const std::shared_ptr<const Message>& m) {
  return message_bytes(*m);
}

template <class Message>
size_t message_bytes(const std::vector<Message>& batch) {
  size_t bytes = 0;
  for (const auto& m : batch)
    bytes += message_bytes(m);
  return bytes;
}

} // namespace mailroom
