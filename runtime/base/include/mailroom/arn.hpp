// The names SQS and SNS clients know Mailroom's queues and topics by: ARNs in one account, and
// the region a request was signed for (the default one when a publish did not come through the
// HTTP face). Notifications and the HTTP API's replies use the same ones.
#pragma once

#include <caf/allowed_unsafe_message_type.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace mailroom {

/// The account of ARNs and queue URLs unless `[http] account` names another (moto's default,
/// which the reference patterns use).
constexpr const char* aws_default_account = "123456789012";
/// The region of ARNs made outside a signed request.
constexpr const char* aws_default_region = "us-east-1";

/// Where ARNs point: a region and an account.
struct aws_scope {
  std::string region = aws_default_region;
  std::string account = aws_default_account;
};

std::string queue_arn(const aws_scope& scope, std::string_view queue);
std::string topic_arn(const aws_scope& scope, std::string_view topic);
/// A subscription's ARN: its topic's, then ":" and the subscribed queue (a topic subscribes a
/// queue once).
std::string subscription_arn(const aws_scope& scope, std::string_view topic,
                             std::string_view queue);

/// What an ARN names: the part after its last ':' (a queue or topic), or the whole text when
/// it has none (a bare name).
std::string_view arn_resource(std::string_view arn);

/// The queue an SQS queue ARN ("arn:aws:sqs:REGION:ACCOUNT:QUEUE") names; nothing for text
/// that is not one (any region and account: queues are found by name).
std::optional<std::string> queue_of_sqs_arn(std::string_view arn);

/// Whether `account` is an AWS account id: twelve digits.
bool valid_aws_account(std::string_view account);

} // namespace mailroom

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mailroom::aws_scope)
