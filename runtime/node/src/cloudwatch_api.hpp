// The CloudWatch alarm actions of the query protocol (Version 2010-08-01) on a node:
// PutMetricAlarm, DescribeAlarms and DeleteAlarms for the AWS/SQS metrics a Mailroom alarm can
// watch (dimension QueueName), mapped onto Mailroom's alarms (threshold, Period x
// EvaluationPeriods as the time above it, the AlarmActions topic as the alarm's topic). Their
// state changes are published to that topic as CloudWatch's SNS message.
#pragma once

#include "actor_bridge.hpp"
#include "aws_query.hpp"
#include "http_face.hpp"

#include <kj/async.h>

#include <optional>
#include <string>
#include <utility>

namespace mailroom {

class node;

extern const aws_dialect cloudwatch_dialect;

/// A CloudWatch ComparisonOperator and Threshold on a metric Mailroom reads `scale` times finer
/// (1; 1000 for an age in seconds read in ms) as a Mailroom alarm's side (true: below) and
/// threshold; nothing for an operator it does not map.
std::optional<std::pair<bool, double>> cloudwatch_comparison(const std::string& op, double t,
                                                             double scale);

class cloudwatch_api {
public:
  cloudwatch_api(node& n, actor_bridge& bridge) : node_(n), bridge_(bridge) {}

  kj::Promise<aws_reply> handle(const aws_request& request);

private:
  node& node_;
  actor_bridge& bridge_;
};

} // namespace mailroom
