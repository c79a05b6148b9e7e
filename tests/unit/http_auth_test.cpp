// [http] auth = "sigv4" on virtual time: the reference request signed by botocore
// (../shared/reference/sqs-sns-compat.md §6), and each way a request fails the check.
#include "http_auth.hpp"

#include <gtest/gtest.h>

namespace mailroom {
namespace {

constexpr int64_t signed_at_ms = 1704067200000; // 20240101T000000Z

struct http_auth_test : ::testing::Test {
  http_auth_test() {
    config.mode = "sigv4";
    config.keys = {{"test", "test"}};
    request.method = "POST";
    request.path = "/";
    request.headers = {{"content-type", "application/x-www-form-urlencoded; charset=utf-8"},
                       {"host", "127.0.0.1:9324"},
                       {"x-amz-date", "20240101T000000Z"}};
    request.body = "Action=GetQueueUrl&Version=2012-11-05&QueueName=orders";
    request.amz_date = "20240101T000000Z";
    auth = *aws::parse_authorization(
        "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/sqs/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date, "
        "Signature=0a34dd32e4fe1024bccd4f9d0ddcb7d0ea690017a50b784731da736c755a763c");
  }

  std::string refused_with(int64_t now_ms = signed_at_ms) {
    auto r = check_signature(config, &auth, request, now_ms);
    return r ? r->code : std::string{};
  }

  http_auth_config config;
  aws::signed_request request;
  aws::sigv4_authorization auth;
};

TEST_F(http_auth_test, a_request_signed_with_a_known_key_within_the_window_passes) {
  EXPECT_EQ(refused_with(), "");
  EXPECT_EQ(refused_with(signed_at_ms + max_signature_skew_ms), "");
  EXPECT_EQ(refused_with(signed_at_ms - max_signature_skew_ms), "");
}

TEST_F(http_auth_test, none_takes_anything) {
  config.mode = "none";
  EXPECT_FALSE(check_signature(config, nullptr, request, 0));
  auth.signature = "00";
  EXPECT_FALSE(check_signature(config, &auth, request, 0));
}

TEST_F(http_auth_test, each_failure_has_its_aws_code) {
  EXPECT_EQ(check_signature(config, nullptr, request, signed_at_ms)->code,
            "MissingAuthenticationToken");
  EXPECT_EQ(check_signature(config, nullptr, request, signed_at_ms)->status, 403u);
  EXPECT_EQ(refused_with(signed_at_ms + max_signature_skew_ms + 1000), "RequestExpired");
  EXPECT_EQ(refused_with(signed_at_ms - max_signature_skew_ms - 1000), "RequestExpired");

  auto with = [&](auto change) {
    auto saved_config = config;
    auto saved_request = request;
    auto saved_auth = auth;
    change();
    auto code = refused_with();
    config = saved_config, request = saved_request, auth = saved_auth;
    return code;
  };
  EXPECT_EQ(with([&] { config.keys = {{"test", "other"}}; }), "SignatureDoesNotMatch");
  EXPECT_EQ(with([&] { config.keys = {{"someone", "test"}}; }), "InvalidClientTokenId");
  EXPECT_EQ(with([&] { request.body += "&QueueName=x"; }), "SignatureDoesNotMatch");
  EXPECT_EQ(with([&] { request.headers["host"] = "elsewhere:9324"; }), "SignatureDoesNotMatch");
  EXPECT_EQ(with([&] {
              auth.signed_headers = {"content-type", "x-amz-date"};
            }),
            "SignatureDoesNotMatch");
  EXPECT_EQ(with([&] { auth.date = "20240102"; }), "SignatureDoesNotMatch");
  EXPECT_EQ(with([&] { request.amz_date = "yesterday"; }), "IncompleteSignature");
  EXPECT_EQ(with([&] { auth.signature[0] = auth.signature[0] == 'a' ? 'b' : 'a'; }),
            "SignatureDoesNotMatch");
}

} // namespace
} // namespace mailroom
