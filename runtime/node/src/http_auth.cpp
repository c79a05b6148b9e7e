#include "http_auth.hpp"

#include <algorithm>

namespace mailroom {

std::optional<refusal> check_signature(const http_auth_config& config,
                                       const aws::sigv4_authorization* auth,
                                       const aws::signed_request& request, int64_t now_ms) {
  if (config.mode != "sigv4")
    return std::nullopt;
  if (!auth)
    return refusal{403, "MissingAuthenticationToken",
                   "Request is missing Authentication Token (an AWS Signature Version 4 "
                   "Authorization header)."};
  auto secret = config.keys.find(auth->access_key);
  if (secret == config.keys.end())
    return refusal{403, "InvalidClientTokenId",
                   "The security token included in the request is invalid (no access key '" +
                       auth->access_key.substr(0, 128) + "')."};
  auto signed_at = aws::parse_amz_date(request.amz_date);
  if (signed_at < 0)
    return refusal{400, "IncompleteSignature",
                   "The request must carry an X-Amz-Date header of the form YYYYMMDD'T'HHMMSS'Z'."};
  if (request.amz_date.compare(0, 8, auth->date) != 0)
    return refusal{403, "SignatureDoesNotMatch",
                   "Credential should be scoped to a valid date: '" + auth->date +
                       "' is not the date of X-Amz-Date '" + request.amz_date + "'."};
  if (std::find(auth->signed_headers.begin(), auth->signed_headers.end(), "host") ==
      auth->signed_headers.end())
    return refusal{403, "SignatureDoesNotMatch", "The Host header must be signed."};
  if (signed_at < now_ms - max_signature_skew_ms || signed_at > now_ms + max_signature_skew_ms)
    return refusal{400, "RequestExpired",
                   "Request has expired: signed at " + request.amz_date +
                       ", more than 15 minutes from the server's clock."};
  if (!aws::constant_time_equal(aws::sigv4_signature(*auth, secret->second, request),
                                auth->signature))
    return refusal{403, "SignatureDoesNotMatch",
                   "The request signature we calculated does not match the signature you "
                   "provided. Check your AWS Secret Access Key and signing method."};
  return std::nullopt;
}

} // namespace mailroom
