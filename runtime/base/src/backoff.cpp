#include "backoff.hpp"

#include <algorithm>
#include <cmath>

#include <xxhash.h>

namespace mailroom {

int64_t backoff_ms(const retry_policy& p, uint32_t receive_count, const std::string& message_id) {
  double d = static_cast<double>(p.base_ms) *
             std::pow(p.factor, static_cast<double>(receive_count > 0 ? receive_count - 1 : 0));
  auto full = static_cast<int64_t>(std::min(d, static_cast<double>(p.cap_ms)));
  if (full <= 1)
    return full;
  // Equal jitter: half the delay is fixed, half spreads retries of a burst apart. The spread
  // is a hash rather than a random draw so that a restarted node computes the same time; XXH3
  // is specified (std::hash is not, and may change with the standard library).
  auto h = XXH3_64bits_withSeed(message_id.data(), message_id.size(), receive_count);
  auto half = full / 2;
  return half + static_cast<int64_t>(h % static_cast<uint64_t>(full - half + 1));
}

} // namespace mailroom
