#include "mailroom/arn.hpp"

#include <algorithm>
#include <cctype>

namespace mailroom {

namespace {

std::string arn(std::string_view service, const aws_scope& scope, std::string_view name) {
  std::string out = "arn:aws:";
  out += service;
  out += ':';
  out += scope.region;
  out += ':';
  out += scope.account;
  out += ':';
  out += name;
  return out;
}

} // namespace

std::string queue_arn(const aws_scope& scope, std::string_view queue) {
  return arn("sqs", scope, queue);
}

std::string topic_arn(const aws_scope& scope, std::string_view topic) {
  return arn("sns", scope, topic);
}

std::string subscription_arn(const aws_scope& scope, std::string_view topic,
                             std::string_view queue) {
  return topic_arn(scope, topic) + ":" + std::string{queue};
}

std::string_view arn_resource(std::string_view arn) {
  auto colon = arn.rfind(':');
  return colon == std::string_view::npos ? arn : arn.substr(colon + 1);
}

std::optional<std::string> queue_of_sqs_arn(std::string_view arn) {
  if (arn.rfind("arn:aws:sqs:", 0) != 0 || arn_resource(arn).empty())
    return std::nullopt;
  return std::string{arn_resource(arn)};
}

bool valid_aws_account(std::string_view account) {
  return account.size() == 12 && std::all_of(account.begin(), account.end(),
                                             [](unsigned char c) { return std::isdigit(c); });
}

} // namespace mailroom
