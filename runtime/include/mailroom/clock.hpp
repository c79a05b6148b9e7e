// The time source of actors that keep timers: unix milliseconds. Production uses the system
// clock; tests pass a function over a variable they advance, so that a 30-second lease is
// tested without waiting 30 seconds.
#pragma once

#include <cstdint>
#include <functional>

namespace mailroom {

using clock_fn = std::function<int64_t()>;

/// The system clock, in unix ms.
clock_fn system_clock_ms();

} // namespace mailroom
