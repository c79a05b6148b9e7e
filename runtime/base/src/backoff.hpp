// The retry delay of queues and saga steps, computed alike by every build and after a restart.
#pragma once

#include "mailroom/types.hpp"

#include <cstdint>
#include <string>

namespace mailroom {

/// Backoff before the retry that follows the `receive_count`-th delivery: base·factor^(n-1),
/// capped, with equal jitter (half fixed, half pseudo-random from `message_id`).
int64_t backoff_ms(const retry_policy& policy, uint32_t receive_count,
                   const std::string& message_id);

} // namespace mailroom
