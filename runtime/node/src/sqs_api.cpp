#include "sqs_api.hpp"
#include "sqs_detail.hpp"

#include "mailroom/arn.hpp"
#include "mailroom/error.hpp"

#include <set>

namespace mailroom {

namespace sqs_face {

std::string queue_url(const aws_request& r, const std::string& name) {
  return "http://" + (r.host.empty() ? std::string{"localhost"} : r.host) + "/" + r.scope.account +
         "/" + name;
}

checked<std::string> queue_of(const aws_request& r) {
  if (auto* url = r.form.find("QueueUrl")) {
    auto slash = url->find_last_of('/');
    auto name = slash == std::string::npos ? *url : url->substr(slash + 1);
    if (name.empty())
      return sqs.invalid("Value " + url->substr(0, 200) + " for parameter QueueUrl is invalid.");
    return name;
  }
  if (!r.path_queue.empty())
    return r.path_queue;
  return missing("QueueUrl");
}

void batch_error(aws::xml_writer& w, const std::string& id, const std::string& code,
                 const std::string& message) {
  w.open("BatchResultErrorEntry");
  write_error_entry(w, id, code, message);
  w.close();
}

} // namespace sqs_face

using sqs_face::sqs;

aws_reply sqs_error(unsigned status, const std::string& code, const std::string& message) {
  return sqs.error(status, code, message);
}

refusal sqs_face::sqs_refusal(const caf::error& err) {
  auto message = message_of(err);
  switch (code_of(err)) {
  case errc::unknown_queue:
    return refusal{400, "AWS.SimpleQueueService.NonExistentQueue",
                   "The specified queue does not exist for this wsdl version. (" + message + ")"};
  case errc::already_exists:
    return refusal{400, "QueueAlreadyExists", message};
  case errc::invalid_argument:
  case errc::message_too_large:
    return refusal{400, "InvalidParameterValue", message};
  case errc::unknown_receipt:
  case errc::receipt_expired:
    return refusal{400, "ReceiptHandleIsInvalid", message};
  case errc::queue_full:
  case errc::memory_full:
    // Retried with backoff by boto3 and the AWS CLI (botocore's _retry.json: 403 for SQS).
    return refusal{403, "RequestThrottled", message};
  case errc::disk_full:
  case errc::io_error:
  case errc::corruption:
  case errc::unavailable:
    return refusal{503, "ServiceUnavailable", message};
  default:
    return refusal{400, "InvalidParameterValue", message};
  }
}

aws_reply sqs_error(const caf::error& err) {
  return sqs.error(sqs_face::sqs_refusal(err));
}

kj::Promise<aws_reply> sqs_api::handle(const aws_request& r) {
  static const std::set<std::string> queue_actions = {"CreateQueue",
                                                      "GetQueueUrl",
                                                      "ListQueues",
                                                      "DeleteQueue",
                                                      "PurgeQueue",
                                                      "GetQueueAttributes",
                                                      "SetQueueAttributes",
                                                      "TagQueue",
                                                      "UntagQueue",
                                                      "ListQueueTags",
                                                      "ListDeadLetterSourceQueues",
                                                      "StartMessageMoveTask",
                                                      "ListMessageMoveTasks",
                                                      "CancelMessageMoveTask"};
  static const std::set<std::string> message_actions = {"SendMessage",
                                                        "SendMessageBatch",
                                                        "ReceiveMessage",
                                                        "DeleteMessage",
                                                        "DeleteMessageBatch",
                                                        "ChangeMessageVisibility",
                                                        "ChangeMessageVisibilityBatch"};
  const auto action = r.form.get("Action");
  if (queue_actions.count(action))
    return queues(r, action);
  if (message_actions.count(action))
    return messages(r, action);
  static const auto served = [] {
    auto all = queue_actions;
    all.insert(message_actions.begin(), message_actions.end());
    return all;
  }();
  if (auto x = unknown_action(action, served))
    return sqs.error(*x);
  return sqs.error(500, "InternalFailure", "The action " + action + " has no handler.");
}

} // namespace mailroom
