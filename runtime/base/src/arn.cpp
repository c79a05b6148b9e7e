#include "mailroom/arn.hpp"

namespace mailroom {

namespace {

std::string arn(std::string_view service, std::string_view region, std::string_view name) {
  std::string out = "arn:aws:";
  out += service;
  out += ':';
  out += region;
  out += ':';
  out += aws_account;
  out += ':';
  out += name;
  return out;
}

} // namespace

std::string queue_arn(std::string_view region, std::string_view queue) {
  return arn("sqs", region, queue);
}

std::string topic_arn(std::string_view region, std::string_view topic) {
  return arn("sns", region, topic);
}

std::string subscription_arn(std::string_view region, std::string_view topic,
                             std::string_view queue) {
  return topic_arn(region, topic) + ":" + std::string{queue};
}

std::string_view arn_resource(std::string_view arn) {
  auto colon = arn.rfind(':');
  return colon == std::string_view::npos ? arn : arn.substr(colon + 1);
}

} // namespace mailroom
