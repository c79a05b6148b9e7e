#include "handler_outcome.hpp"

namespace mailroom {

std::optional<nack_request> settlement_of(const outcome& o, const std::string& receipt) {
  nack_request nack;
  nack.receipt = receipt;
  switch (o.what) {
  case outcome::kind::ack:
    return std::nullopt;
  case outcome::kind::retry:
    nack.retry_after_ms = o.retry_after_ms;
    nack.error = o.reason.empty() ? "retry" : o.reason;
    return nack;
  case outcome::kind::dead_letter:
    nack.dead_letter_reason = o.reason.empty() ? "rejected" : o.reason;
    return nack;
  }
  return nack;
}

nack_request failure_of(const std::string& receipt, std::string error) {
  nack_request nack;
  nack.receipt = receipt;
  nack.error = std::move(error);
  return nack;
}

} // namespace mailroom
