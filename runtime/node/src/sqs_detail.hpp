// What the SQS actions share (sqs_api.cpp dispatches; sqs_queues.cpp and sqs_messages.cpp
// serve): the dialect, queue URLs and the queue a request names.
#pragma once

#include "aws_query.hpp"
#include "http_face.hpp"

#include <string>

namespace mailroom::sqs_face {

inline const aws_dialect& sqs = sqs_dialect;

/// http://HOST/ACCOUNT/NAME, with the request's Host.
std::string queue_url(const aws_request& r, const std::string& name);
/// The queue a request names: its QueueUrl field (the last path segment), else the request's
/// path (SDKs that post to the queue URL).
checked<std::string> queue_of(const aws_request& r);
/// The SQS refusal of a Mailroom error (unknown_queue → NonExistentQueue, queue_full →
/// RequestThrottled, ...).
refusal sqs_refusal(const caf::error& err);
/// A <BatchResultErrorEntry>.
void batch_error(aws::xml_writer& w, const std::string& id, const std::string& code,
                 const std::string& message);

} // namespace mailroom::sqs_face
