// Message ids and receipt handles.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mailroom {

/// A time-ordered (version 7) UUID in its canonical text form: unix milliseconds, then random
/// bits. Ids made close in time sort close together, so an index over them (a transactional
/// service's inbox, the sagas) grows at its end instead of on random pages. Thread-safe.
std::string new_message_id();

/// A receipt names one delivery: the message's sequence number in its queue and the receive
/// count of that delivery, so a receipt from an earlier delivery is told apart from the
/// current one.
struct receipt {
  uint64_t seq = 0;
  uint32_t receive_count = 0;
};

std::string format_receipt(receipt r);
std::optional<receipt> parse_receipt(std::string_view text);

/// Unix time in milliseconds / microseconds from the system clock.
int64_t unix_now_ms();
int64_t unix_now_us();

} // namespace mailroom
