// AWS Signature Version 4 for header-signed requests (what botocore sends to SQS, SNS and
// CloudWatch): the Authorization header parsed, and the signature a secret key gives a request,
// for the HTTP face to compare. The credential scope also names the region and the service.
#pragma once

#include <caf/expected.hpp>

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace mailroom::aws {

/// "AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request, SignedHeaders=h1;h2,
/// Signature=HEX", parsed.
struct sigv4_authorization {
  std::string access_key;
  std::string date; ///< YYYYMMDD
  std::string region;
  std::string service;
  std::vector<std::string> signed_headers; ///< lower case, as listed
  std::string signature;                   ///< lowercase hex
};

/// Parses the Authorization header; the error (errc::invalid_argument) says what is missing or
/// malformed.
caf::expected<sigv4_authorization> parse_authorization(std::string_view header);

/// The parts of a request that SigV4 signs.
struct signed_request {
  std::string method;
  std::string path;                           ///< as sent ("/", "/123456789012/orders")
  std::string query;                          ///< as sent, without '?'
  std::map<std::string, std::string> headers; ///< lower-case name → value
  std::string body;
  std::string amz_date; ///< X-Amz-Date: YYYYMMDD'T'HHMMSS'Z'
};

/// The lowercase hex signature `secret` gives `request` under `auth`'s scope and signed headers.
std::string sigv4_signature(const sigv4_authorization& auth, std::string_view secret,
                            const signed_request& request);

/// Lowercase hex SHA-256 of `bytes`.
std::string sha256_hex(std::string_view bytes);

/// Whether two strings are equal, in time that depends only on their lengths.
bool constant_time_equal(std::string_view a, std::string_view b);

/// Unix ms of an X-Amz-Date (YYYYMMDD'T'HHMMSS'Z'), or -1 when it is malformed.
int64_t parse_amz_date(std::string_view text);

} // namespace mailroom::aws
