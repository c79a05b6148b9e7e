// The names SQS and SNS clients know Mailroom's queues and topics by: ARNs in one account, and
// the region a request was signed for (the default one when a publish did not come through the
// HTTP face). Notifications and the HTTP API's replies use the same ones.
#pragma once

#include <string>
#include <string_view>

namespace mailroom {

/// The account of every ARN and queue URL (moto's default, which the reference patterns use).
constexpr const char* aws_account = "123456789012";
/// The region of ARNs made outside a signed request.
constexpr const char* aws_default_region = "us-east-1";

std::string queue_arn(std::string_view region, std::string_view queue);
std::string topic_arn(std::string_view region, std::string_view topic);
/// A subscription's ARN: its topic's, then ":" and the subscribed queue (a topic subscribes a
/// queue once).
std::string subscription_arn(std::string_view region, std::string_view topic,
                             std::string_view queue);

/// What an ARN names: the part after its last ':' (a queue or topic), or the whole text when
/// it has none (a bare name).
std::string_view arn_resource(std::string_view arn);

} // namespace mailroom
