// How a handler's outcome settles its delivery: the one mapping every consumer uses (the
// service and the transactional service; the saga participant maps its own step results).
#pragma once

#include "mailroom/service.hpp"
#include "mailroom/types.hpp"

#include <optional>
#include <string>

namespace mailroom {

/// Nothing for an ack; otherwise the nack that asks for a retry (under the queue's backoff, or
/// after the outcome's delay) or for dead-lettering (reason "rejected" unless given).
std::optional<nack_request> settlement_of(const outcome& o, const std::string& receipt);

/// The handler threw, or its effects could not be committed: a retry under the queue's backoff
/// with `error` recorded.
nack_request failure_of(const std::string& receipt, std::string error);

} // namespace mailroom
