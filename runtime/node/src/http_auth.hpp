// Whether an HTTP API request may be served: with [http] auth = "sigv4", its AWS Signature
// Version 4 must be one of the configured keys', over the headers it lists (host among them)
// and the body, dated within 15 minutes of `now_ms` on the day its scope names. Pure: the
// HTTP face hands in the request and the clock.
#pragma once

#include "aws_query.hpp"
#include "mailroom/aws/sigv4.hpp"
#include "mailroom/node.hpp"

#include <cstdint>
#include <optional>

namespace mailroom {

/// How far a request's X-Amz-Date may be from the node's clock (SQS's window).
constexpr int64_t max_signature_skew_ms = 15 * 60 * 1000;

/// Why the request is refused (AWS's code and status), or nothing. `auth`: its parsed
/// Authorization header, null when it has none.
std::optional<refusal> check_signature(const http_auth_config& config,
                                       const aws::sigv4_authorization* auth,
                                       const aws::signed_request& request, int64_t now_ms);

} // namespace mailroom
