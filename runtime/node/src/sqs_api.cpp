#include "sqs_api.hpp"

#include "aws_query.hpp"

#include "mailroom/aws/md5.hpp"
#include "mailroom/aws/xml_writer.hpp"
#include "mailroom/error.hpp"
#include "mailroom/ids.hpp"
#include "mailroom/node.hpp"
#include "mailroom/protocol.hpp"
#include "mailroom/text_encoding.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <variant>

namespace mailroom {

namespace {

const aws_dialect& sqs = sqs_dialect;
constexpr size_t max_batch_bytes = 256 * 1024;
/// Set on a delivered message whose body had to be base64-encoded (see ReceiveMessage).
constexpr const char* body_encoding_attribute = "Mailroom.BodyEncoding";

std::string queue_url(const aws_request& r, const std::string& name) {
  return "http://" + (r.host.empty() ? std::string{"localhost"} : r.host) + "/" + aws_account +
         "/" + name;
}

/// The queue a request names: its QueueUrl field (the last path segment), else the request's
/// path (SDKs that post to the queue URL).
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

/// SQS's own name rule, stricter than Mailroom's ('.' only in the ".fifo" suffix).
std::optional<refusal> check_queue_name(const std::string& name, bool fifo) {
  auto stem = name;
  bool has_suffix = name.size() > 5 && name.compare(name.size() - 5, 5, ".fifo") == 0;
  if (has_suffix)
    stem = name.substr(0, name.size() - 5);
  bool valid = !name.empty() && name.size() <= 80 &&
               std::all_of(stem.begin(), stem.end(),
                           [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '_'; });
  if (!valid)
    return sqs.invalid(
        "Value " + name.substr(0, 100) + " for parameter QueueName is invalid. " +
        "Reason: Can only include alphanumeric characters, hyphens, or underscores. " +
        "1 to 80 in length.");
  if (fifo != has_suffix)
    return sqs.invalid(fifo ? "The name of a FIFO queue can only include alphanumeric characters, "
                              "hyphens, or underscores, must end with .fifo suffix."
                            : "Only FIFO queues may have a name that ends with .fifo (set the "
                              "attribute FifoQueue to true).");
  return std::nullopt;
}

/// "Attribute.N.Name/Value" (CreateQueue, SetQueueAttributes) as a map.
checked<std::map<std::string, std::string>> queue_attributes(const aws::form& f) {
  std::map<std::string, std::string> out;
  for (auto n : f.entries("Attribute")) {
    auto prefix = "Attribute." + std::to_string(n);
    auto* name = f.find(prefix + ".Name");
    auto* value = f.find(prefix + ".Value");
    if (!name)
      return missing(prefix + ".Name");
    if (!value)
      return missing(prefix + ".Value");
    out[*name] = *value;
  }
  return out;
}

checked<bool> boolean(const std::string& name, const std::string& value) {
  if (value == "true")
    return true;
  if (value == "false")
    return false;
  return refusal{400, "InvalidAttributeValue",
                 "Invalid value for the parameter " + name + ": must be true or false."};
}

/// Applies queue attributes to `config`; names what it cannot take.
std::optional<refusal> apply_attributes(const std::map<std::string, std::string>& attributes,
                                        queue_config& config) {
  auto seconds = [&](const std::string& name, const std::string& text, int64_t lo,
                     int64_t hi) -> checked<int64_t> {
    auto v = whole_number(text);
    if (!v || *v < lo || *v > hi)
      return refusal{400, "InvalidAttributeValue",
                     "Invalid value for the parameter " + name + ": '" + text.substr(0, 40) +
                         "' is not an integer from " + std::to_string(lo) + " to " +
                         std::to_string(hi) + "."};
    return *v;
  };
  for (const auto& [name, value] : attributes) {
    checked<int64_t> v = int64_t{0};
    if (name == "VisibilityTimeout") {
      v = seconds(name, value, 0, 43200);
      if (auto* s = std::get_if<int64_t>(&v))
        config.visibility_timeout_ms = *s * 1000;
    } else if (name == "DelaySeconds") {
      v = seconds(name, value, 0, 900);
      if (auto* s = std::get_if<int64_t>(&v))
        config.delay_ms = *s * 1000;
    } else if (name == "MessageRetentionPeriod") {
      v = seconds(name, value, 60, 1209600);
      if (auto* s = std::get_if<int64_t>(&v))
        config.retention_ms = *s * 1000;
    } else if (name == "MaximumMessageSize") {
      v = seconds(name, value, 1024, 262144);
      if (auto* s = std::get_if<int64_t>(&v))
        config.max_message_bytes = static_cast<uint32_t>(*s);
    } else if (name == "ReceiveMessageWaitTimeSeconds") {
      v = seconds(name, value, 0, 20);
      if (auto* s = std::get_if<int64_t>(&v))
        config.receive_wait_ms = *s * 1000;
    } else if (name == "FifoQueue" || name == "ContentBasedDeduplication") {
      auto b = boolean(name, value);
      if (auto* r = std::get_if<refusal>(&b))
        return *r;
      (name == "FifoQueue" ? config.fifo : config.content_based_dedup) = std::get<bool>(b);
    } else if (name == "RedrivePolicy" || name == "RedriveAllowPolicy" || name == "Policy" ||
               name == "KmsMasterKeyId" || name == "KmsDataKeyReusePeriodSeconds" ||
               name == "SqsManagedSseEnabled" || name == "DeduplicationScope" ||
               name == "FifoThroughputLimit") {
      return refusal{400, "InvalidAttributeName",
                     "The attribute " + name + " is not supported by this Mailroom version."};
    } else {
      return refusal{400, "InvalidAttributeName", "Unknown Attribute " + name.substr(0, 100) + "."};
    }
    if (auto* r = std::get_if<refusal>(&v))
      return *r;
  }
  return std::nullopt;
}

/// One message of SendMessage or of a SendMessageBatch entry (`prefix` "" or "…Entry.N.").
checked<outgoing_message> outgoing(const aws::form& f, const std::string& prefix) {
  outgoing_message m;
  auto* body = f.find(prefix + "MessageBody");
  if (!body)
    return missing(prefix + "MessageBody");
  if (body->empty())
    return sqs.invalid("The request must contain a non-empty " + prefix + "MessageBody.");
  size_t bad = 0;
  if (!aws::xml_representable(*body, &bad))
    return refusal{400, "InvalidMessageContents",
                   "Invalid binary character at byte " + std::to_string(bad) + " of " + prefix +
                       "MessageBody: only characters XML 1.0 allows may be sent."};
  m.body = *body;
  auto delay = sqs.integer(f, prefix + "DelaySeconds", 0, 900, -1);
  if (auto* r = std::get_if<refusal>(&delay))
    return *r;
  auto seconds = std::get<int64_t>(delay);
  m.delay_ms = seconds < 0 ? -1 : seconds * 1000;
  m.group_id = f.get(prefix + "MessageGroupId");
  m.dedup_id = f.get(prefix + "MessageDeduplicationId");
  auto attributes = sqs.message_attributes(f, prefix + "MessageAttribute");
  if (auto* x = std::get_if<refusal>(&attributes))
    return *x;
  m.attributes = std::move(std::get<attribute_list>(attributes));
  return m;
}

/// Whether a ReceiveMessage's MessageAttributeName.N list selects `name`.
bool selected(const std::vector<std::string>& patterns, const std::string& name) {
  for (const auto& p : patterns) {
    if (p == "All" || p == ".*" || p == name)
      return true;
    if (p.size() > 2 && p.compare(p.size() - 2, 2, ".*") == 0 &&
        name.compare(0, p.size() - 1, p, 0, p.size() - 1) == 0)
      return true;
  }
  return false;
}

void batch_error(aws::xml_writer& w, const std::string& id, const std::string& code,
                 const std::string& message) {
  w.open("BatchResultErrorEntry");
  write_error_entry(w, id, code, message);
  w.close();
}

/// The SQS code of a receipt's ack outcome.
std::string receipt_code(const std::string& mailroom_code) {
  if (mailroom_code == "unknown_receipt" || mailroom_code == "receipt_expired")
    return "ReceiptHandleIsInvalid";
  return "InvalidParameterValue";
}

} // namespace

aws_reply sqs_error(unsigned status, const std::string& code, const std::string& message) {
  return sqs.error(status, code, message);
}

aws_reply sqs_error(const caf::error& err) {
  auto message = message_of(err);
  switch (code_of(err)) {
  case errc::unknown_queue:
    return sqs_error(400, "AWS.SimpleQueueService.NonExistentQueue",
                     "The specified queue does not exist for this wsdl version. (" + message + ")");
  case errc::already_exists:
    return sqs_error(400, "QueueAlreadyExists", message);
  case errc::invalid_argument:
  case errc::message_too_large:
    return sqs_error(400, "InvalidParameterValue", message);
  case errc::unknown_receipt:
  case errc::receipt_expired:
    return sqs_error(400, "ReceiptHandleIsInvalid", message);
  case errc::queue_full:
  case errc::memory_full:
    // Retried with backoff by boto3 and the AWS CLI (botocore's _retry.json: 403 for SQS).
    return sqs_error(403, "RequestThrottled", message);
  case errc::disk_full:
  case errc::io_error:
  case errc::corruption:
  case errc::unavailable:
    return sqs_error(503, "ServiceUnavailable", message);
  default:
    return sqs_error(400, "InvalidParameterValue", message);
  }
}

kj::Promise<aws_reply> sqs_api::handle(const aws_request& r) {
  const auto& f = r.form;
  const auto action = f.get("Action");
  auto refuse = [](const refusal& x) -> kj::Promise<aws_reply> { return sqs.error(x); };
  static const std::set<std::string> served = {"CreateQueue",
                                               "GetQueueUrl",
                                               "ListQueues",
                                               "DeleteQueue",
                                               "PurgeQueue",
                                               "GetQueueAttributes",
                                               "SetQueueAttributes",
                                               "SendMessage",
                                               "SendMessageBatch",
                                               "ReceiveMessage",
                                               "DeleteMessage",
                                               "DeleteMessageBatch",
                                               "ChangeMessageVisibility"};
  if (auto x = unknown_action(action, served))
    return refuse(*x);

  if (action == "CreateQueue") {
    auto name = f.get("QueueName");
    if (name.empty())
      return refuse(missing("QueueName"));
    auto attributes = queue_attributes(f);
    if (auto* x = std::get_if<refusal>(&attributes))
      return refuse(*x);
    queue_config config;
    config.name = name;
    if (auto x = apply_attributes(std::get<0>(attributes), config))
      return refuse(*x);
    if (auto x = check_queue_name(name, config.fifo))
      return refuse(*x);
    if (auto err = validate(config))
      return sqs_error(400, "InvalidAttributeValue", message_of(err));
    auto url = queue_url(r, name);
    return bridge_.run([this, config] { return node_.create_queue(config); })
        .then([url](caf::error err) -> aws_reply {
          if (err)
            return sqs_error(err);
          return sqs.ok("CreateQueue", [&](aws::xml_writer& w) { w.leaf("QueueUrl", url); });
        });
  }

  if (action == "GetQueueUrl") {
    auto name = f.get("QueueName");
    if (name.empty())
      return refuse(missing("QueueName"));
    auto q = node_.queue(name);
    if (!q)
      return sqs_error(q.error());
    return sqs.ok("GetQueueUrl",
                  [&](aws::xml_writer& w) { w.leaf("QueueUrl", queue_url(r, name)); });
  }

  if (action == "ListQueues") {
    auto max = sqs.integer(f, "MaxResults", 1, 1000, 1000);
    if (auto* x = std::get_if<refusal>(&max))
      return refuse(*x);
    auto prefix = f.get("QueueNamePrefix");
    auto after = f.get("NextToken"); // the last name of the previous page
    auto names = node_.queue_names();
    std::sort(names.begin(), names.end());
    std::vector<std::string> page;
    bool more = false;
    for (const auto& n : names) {
      if (n.compare(0, prefix.size(), prefix) != 0 || (!after.empty() && n <= after))
        continue;
      if (page.size() == static_cast<size_t>(std::get<int64_t>(max))) {
        more = true;
        break;
      }
      page.push_back(n);
    }
    bool paged = f.has("MaxResults");
    return sqs.ok("ListQueues", [&](aws::xml_writer& w) {
      for (const auto& n : page)
        w.leaf("QueueUrl", queue_url(r, n));
      if (more && paged)
        w.leaf("NextToken", page.back());
    });
  }

  auto name_or = queue_of(r);
  if (auto* x = std::get_if<refusal>(&name_or))
    return refuse(*x);
  auto name = std::get<std::string>(name_or);

  if (action == "DeleteQueue") {
    return bridge_.run([this, name] { return node_.delete_queue(name); })
        .then([](caf::error err) -> aws_reply {
          return err ? sqs_error(err) : sqs.ok("DeleteQueue");
        });
  }

  auto q = node_.queue(name);
  if (!q)
    return sqs_error(q.error());

  if (action == "PurgeQueue") {
    return bridge_.ask<uint64_t>(*q, purge_atom::value)
        .then([](caf::expected<uint64_t> n) -> aws_reply {
          return n ? sqs.ok("PurgeQueue") : sqs_error(n.error());
        });
  }

  if (action == "SetQueueAttributes") {
    auto attributes = queue_attributes(f);
    if (auto* x = std::get_if<refusal>(&attributes))
      return refuse(*x);
    auto config = node_.queue_configuration(name);
    if (!config)
      return sqs_error(config.error());
    auto changed = *config;
    if (auto x = apply_attributes(std::get<0>(attributes), changed))
      return refuse(*x);
    if (changed.fifo != config->fifo)
      return refuse({400, "InvalidAttributeName",
                     "The attribute FifoQueue cannot be changed on an existing queue."});
    if (auto err = validate(changed))
      return sqs_error(400, "InvalidAttributeValue", message_of(err));
    return bridge_.run([this, changed] { return node_.put_queue(changed); })
        .then([](caf::error err) -> aws_reply {
          return err ? sqs_error(err) : sqs.ok("SetQueueAttributes");
        });
  }

  if (action == "GetQueueAttributes") {
    auto asked = f.list("AttributeName");
    auto config = node_.queue_configuration(name);
    if (!config)
      return sqs_error(config.error());
    static const std::vector<std::string> known = {"ApproximateNumberOfMessages",
                                                   "ApproximateNumberOfMessagesNotVisible",
                                                   "ApproximateNumberOfMessagesDelayed",
                                                   "ApproximateAgeOfOldestMessage",
                                                   "VisibilityTimeout",
                                                   "DelaySeconds",
                                                   "MessageRetentionPeriod",
                                                   "MaximumMessageSize",
                                                   "ReceiveMessageWaitTimeSeconds",
                                                   "QueueArn",
                                                   "FifoQueue",
                                                   "ContentBasedDeduplication"};
    bool all = std::find(asked.begin(), asked.end(), "All") != asked.end();
    for (const auto& a : asked)
      if (a != "All" && std::find(known.begin(), known.end(), a) == known.end())
        return refuse({400, "InvalidAttributeName", "Unknown Attribute " + a.substr(0, 100) + "."});
    auto arn = queue_arn(r.region, name);
    return bridge_.ask<queue_stats>(*q, stats_atom::value)
        .then([asked, all, config = *config, arn](caf::expected<queue_stats> s) -> aws_reply {
          if (!s)
            return sqs_error(s.error());
          std::map<std::string, std::string> values = {
              {"ApproximateNumberOfMessages", std::to_string(s->visible)},
              {"ApproximateNumberOfMessagesNotVisible", std::to_string(s->in_flight)},
              {"ApproximateNumberOfMessagesDelayed", std::to_string(s->delayed)},
              {"ApproximateAgeOfOldestMessage", std::to_string(s->oldest_age_ms / 1000)},
              {"VisibilityTimeout", std::to_string(config.visibility_timeout_ms / 1000)},
              {"DelaySeconds", std::to_string(config.delay_ms / 1000)},
              {"MessageRetentionPeriod", std::to_string(config.retention_ms / 1000)},
              {"MaximumMessageSize", std::to_string(config.max_message_bytes)},
              {"ReceiveMessageWaitTimeSeconds", std::to_string(config.receive_wait_ms / 1000)},
              {"QueueArn", arn}};
          if (config.fifo) {
            values["FifoQueue"] = "true";
            values["ContentBasedDeduplication"] = config.content_based_dedup ? "true" : "false";
          }
          return sqs.ok("GetQueueAttributes", [&](aws::xml_writer& w) {
            for (const auto& [k, v] : values) {
              if (!all && std::find(asked.begin(), asked.end(), k) == asked.end())
                continue;
              w.open("Attribute");
              w.leaf("Name", k);
              w.leaf("Value", v);
              w.close();
            }
          });
        });
  }

  if (action == "SendMessage") {
    auto m = outgoing(f, "");
    if (auto* x = std::get_if<refusal>(&m))
      return refuse(*x);
    const auto& sent = std::get<outgoing_message>(m);
    auto body_md5 = aws::md5_hex(sent.body);
    auto attributes_md5 =
        sent.attributes.empty() ? std::string{} : aws::attributes_md5(sent.attributes);
    std::vector<outgoing_message> batch{std::move(std::get<outgoing_message>(m))};
    return bridge_.ask<std::vector<send_result>>(*q, send_each_atom::value, std::move(batch))
        .then([body_md5, attributes_md5](caf::expected<std::vector<send_result>> out) -> aws_reply {
          if (!out)
            return sqs_error(out.error());
          const auto& one = out->front();
          if (!one.error_code.empty())
            return sqs_error(
                make_error(errc_from_string(one.error_code).value_or(errc::invalid_argument),
                           one.error_message));
          return sqs.ok("SendMessage", [&](aws::xml_writer& w) {
            w.leaf("MD5OfMessageBody", body_md5);
            if (!attributes_md5.empty())
              w.leaf("MD5OfMessageAttributes", attributes_md5);
            w.leaf("MessageId", one.id);
          });
        });
  }

  if (action == "SendMessageBatch") {
    const std::string prefix = "SendMessageBatchRequestEntry";
    std::vector<std::string> ids;
    auto listed = sqs.batch_entries(f, prefix, ids);
    if (auto* x = std::get_if<refusal>(&listed))
      return refuse(*x);
    const auto& entries = std::get<std::vector<unsigned>>(listed);
    struct entry {
      std::string id, body_md5, attributes_md5;
      std::optional<refusal> refused;
      size_t position = 0; // in the batch sent
    };
    std::vector<entry> results;
    std::vector<outgoing_message> batch;
    size_t bytes = 0;
    for (size_t i = 0; i < entries.size(); ++i) {
      auto m = outgoing(f, prefix + "." + std::to_string(entries[i]) + ".");
      entry e{ids[i], {}, {}, {}, 0};
      if (auto* x = std::get_if<refusal>(&m)) {
        e.refused = *x;
      } else {
        auto& msg = std::get<outgoing_message>(m);
        bytes += msg.body.size();
        for (const auto& a : msg.attributes)
          bytes += a.key.size() + a.value.size() + a.data_type.size();
        e.body_md5 = aws::md5_hex(msg.body);
        e.attributes_md5 =
            msg.attributes.empty() ? std::string{} : aws::attributes_md5(msg.attributes);
        e.position = batch.size();
        batch.push_back(std::move(msg));
      }
      results.push_back(std::move(e));
    }
    if (bytes > max_batch_bytes)
      return refuse({400, "AWS.SimpleQueueService.BatchRequestTooLong",
                     "Batch requests cannot be longer than " + std::to_string(max_batch_bytes) +
                         " bytes. You have sent " + std::to_string(bytes) + " bytes."});
    auto write = [results](const std::vector<send_result>& sent) {
      return sqs.ok("SendMessageBatch", [&](aws::xml_writer& w) {
        for (const auto& e : results) {
          if (e.refused || !sent[e.position].error_code.empty())
            continue;
          w.open("SendMessageBatchResultEntry");
          w.leaf("Id", e.id);
          w.leaf("MessageId", sent[e.position].id);
          w.leaf("MD5OfMessageBody", e.body_md5);
          if (!e.attributes_md5.empty())
            w.leaf("MD5OfMessageAttributes", e.attributes_md5);
          w.close();
        }
        for (const auto& e : results) {
          if (e.refused)
            batch_error(w, e.id, e.refused->code, e.refused->message);
          else if (!sent[e.position].error_code.empty())
            batch_error(w, e.id, sent[e.position].error_code, sent[e.position].error_message);
        }
      });
    };
    if (batch.empty())
      return write({});
    return bridge_.ask<std::vector<send_result>>(*q, send_each_atom::value, std::move(batch))
        .then([write](caf::expected<std::vector<send_result>> out) -> aws_reply {
          if (!out)
            return sqs_error(out.error());
          return write(*out);
        });
  }

  if (action == "ReceiveMessage") {
    auto config = node_.queue_configuration(name);
    if (!config)
      return sqs_error(config.error());
    auto max = sqs.integer(f, "MaxNumberOfMessages", 1, 10, 1);
    // Absent: the queue's ReceiveMessageWaitTimeSeconds; an explicit 0 is a short poll.
    auto wait = sqs.integer(f, "WaitTimeSeconds", 0, 20, config->receive_wait_ms / 1000);
    auto visibility = sqs.integer(f, "VisibilityTimeout", 0, 43200, -1);
    for (auto* v : {&max, &wait, &visibility})
      if (auto* x = std::get_if<refusal>(v))
        return refuse(*x);
    auto vis = std::get<int64_t>(visibility);
    receive_request request{static_cast<uint32_t>(std::get<int64_t>(max)),
                            std::get<int64_t>(wait) * 1000, vis < 0 ? -1 : vis * 1000, false};
    auto system = f.list("AttributeName");
    auto user = f.list("MessageAttributeName");
    return bridge_.ask<std::vector<delivery>>(*q, receive_atom::value, request)
        .then([system, user](caf::expected<std::vector<delivery>> got) -> aws_reply {
          if (!got)
            return sqs_error(got.error());
          auto wants = [&](const char* name) {
            return std::find(system.begin(), system.end(), "All") != system.end() ||
                   std::find(system.begin(), system.end(), name) != system.end();
          };
          return sqs.ok("ReceiveMessage", [&](aws::xml_writer& w) {
            for (const auto& d : *got) {
              const auto& e = *d.message;
              // A body sent through another face may hold bytes XML cannot carry: it goes out
              // as base64, and says so in an attribute, rather than break the reply.
              bool encoded = !aws::xml_representable(e.body);
              auto body = encoded ? base64_encode(e.body) : e.body;
              w.open("Message");
              w.leaf("MessageId", e.id);
              w.leaf("ReceiptHandle", d.receipt);
              w.leaf("MD5OfBody", aws::md5_hex(body));
              w.leaf("Body", body);
              auto system_attribute = [&](const char* name, const std::string& value) {
                if (!wants(name))
                  return;
                w.open("Attribute");
                w.leaf("Name", name);
                w.leaf("Value", value);
                w.close();
              };
              system_attribute("SentTimestamp", std::to_string(e.enqueued_at_ms));
              system_attribute("ApproximateReceiveCount", std::to_string(d.receive_count));
              if (!e.group_id.empty())
                system_attribute("MessageGroupId", e.group_id);
              if (!e.dedup_id.empty())
                system_attribute("MessageDeduplicationId", e.dedup_id);
              attribute_list typed;
              if (encoded && selected(user, body_encoding_attribute))
                typed.emplace_back(body_encoding_attribute, "base64");
              for (const auto& a : e.attributes) {
                if (!selected(user, a.key))
                  continue;
                typed.push_back(a);
                // Text XML cannot carry (sent through another face) travels as Binary.
                if (!a.binary() && !aws::xml_representable(a.value))
                  typed.back().data_type = "Binary";
              }
              if (!typed.empty()) {
                w.leaf("MD5OfMessageAttributes", aws::attributes_md5(typed));
                for (const auto& a : typed) {
                  w.open("MessageAttribute");
                  w.leaf("Name", a.key);
                  w.open("Value");
                  if (a.binary())
                    w.leaf("BinaryValue", base64_encode(a.value));
                  else
                    w.leaf("StringValue", a.value);
                  w.leaf("DataType", a.type_name());
                  w.close();
                  w.close();
                }
              }
              w.close();
            }
          });
        });
  }

  if (action == "DeleteMessage") {
    auto receipt = f.get("ReceiptHandle");
    if (receipt.empty())
      return refuse(missing("ReceiptHandle"));
    std::vector<std::string> receipts{receipt};
    return bridge_.ask<std::vector<ack_outcome>>(*q, ack_atom::value, std::move(receipts))
        .then([](caf::expected<std::vector<ack_outcome>> out) -> aws_reply {
          if (!out)
            return sqs_error(out.error());
          const auto& one = out->front();
          if (!one.error_code.empty())
            return sqs_error(400, receipt_code(one.error_code), one.error_message);
          return sqs.ok("DeleteMessage");
        });
  }

  if (action == "DeleteMessageBatch") {
    const std::string prefix = "DeleteMessageBatchRequestEntry";
    std::vector<std::string> ids;
    auto listed = sqs.batch_entries(f, prefix, ids);
    if (auto* x = std::get_if<refusal>(&listed))
      return refuse(*x);
    const auto& entries = std::get<std::vector<unsigned>>(listed);
    std::vector<std::string> receipts;
    for (auto n : entries) {
      auto field = prefix + "." + std::to_string(n) + ".ReceiptHandle";
      auto receipt = f.get(field);
      if (receipt.empty())
        return refuse(missing(field));
      receipts.push_back(std::move(receipt));
    }
    return bridge_.ask<std::vector<ack_outcome>>(*q, ack_atom::value, std::move(receipts))
        .then([ids](caf::expected<std::vector<ack_outcome>> out) -> aws_reply {
          if (!out)
            return sqs_error(out.error());
          return sqs.ok("DeleteMessageBatch", [&](aws::xml_writer& w) {
            for (size_t i = 0; i < ids.size(); ++i)
              if ((*out)[i].error_code.empty()) {
                w.open("DeleteMessageBatchResultEntry");
                w.leaf("Id", ids[i]);
                w.close();
              }
            for (size_t i = 0; i < ids.size(); ++i)
              if (!(*out)[i].error_code.empty())
                batch_error(w, ids[i], receipt_code((*out)[i].error_code), (*out)[i].error_message);
          });
        });
  }

  if (action == "ChangeMessageVisibility") {
    auto receipt = f.get("ReceiptHandle");
    if (receipt.empty())
      return refuse(missing("ReceiptHandle"));
    if (!f.has("VisibilityTimeout"))
      return refuse(missing("VisibilityTimeout"));
    auto timeout = sqs.integer(f, "VisibilityTimeout", 0, 43200, 0);
    if (auto* x = std::get_if<refusal>(&timeout))
      return refuse(*x);
    return bridge_
        .ask<ok_atom>(*q, visibility_atom::value, receipt, std::get<int64_t>(timeout) * 1000)
        .then([](caf::expected<ok_atom> out) -> aws_reply {
          if (!out) {
            auto code = code_of(out.error());
            if (code == errc::receipt_expired)
              return sqs_error(400, "AWS.SimpleQueueService.MessageNotInflight",
                               message_of(out.error()));
            return sqs_error(out.error());
          }
          return sqs.ok("ChangeMessageVisibility");
        });
  }

  return refuse({500, "InternalFailure", "The action " + action + " has no handler."});
}

} // namespace mailroom
