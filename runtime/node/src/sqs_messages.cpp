// SQS's message actions: send, receive (long polls, attribute selection, FIFO receive
// attempts), delete and change visibility, one by one and in batches.
#include "sqs_api.hpp"
#include "sqs_detail.hpp"

#include "mailroom/arn.hpp"
#include "mailroom/aws/md5.hpp"
#include "mailroom/aws/xml_writer.hpp"
#include "mailroom/error.hpp"
#include "mailroom/node.hpp"
#include "mailroom/protocol.hpp"
#include "mailroom/text_encoding.hpp"

#include <algorithm>
#include <optional>
#include <variant>

namespace mailroom {

using namespace sqs_face;

namespace {

constexpr size_t max_batch_bytes = 256 * 1024;
/// Set on a delivered message whose body had to be base64-encoded (see ReceiveMessage).
constexpr const char* body_encoding_attribute = "Mailroom.BodyEncoding";

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

/// The SQS code of a receipt's ack outcome.
std::string receipt_code(const std::string& mailroom_code) {
  if (mailroom_code == "unknown_receipt" || mailroom_code == "receipt_expired")
    return "ReceiptHandleIsInvalid";
  return "InvalidParameterValue";
}

} // namespace

int64_t sqs_api::node_clock_ms() const {
  return node_.config().clock->now_ms();
}

kj::Promise<std::optional<refusal>>
sqs_api::change_visibility(const caf::actor& queue, const std::string& receipt, int64_t seconds) {
  return bridge_.ask<ok_atom>(queue, visibility_atom::value, receipt, seconds * 1000)
      .then([](caf::expected<ok_atom> out) -> std::optional<refusal> {
        if (out)
          return std::nullopt;
        if (code_of(out.error()) == errc::receipt_expired)
          return refusal{400, "AWS.SimpleQueueService.MessageNotInflight", message_of(out.error())};
        return sqs_refusal(out.error());
      });
}

kj::Promise<aws_reply> sqs_api::messages(const aws_request& r, const std::string& action) {
  const auto& f = r.form;
  auto refuse = [](const refusal& x) -> kj::Promise<aws_reply> { return sqs.error(x); };
  auto name_or = queue_of(r);
  if (auto* x = std::get_if<refusal>(&name_or))
    return refuse(*x);
  auto name = std::get<std::string>(name_or);
  auto q = node_.queue(name);
  if (!q)
    return sqs_error(q.error());

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
    // FIFO: a retried receive with the same attempt id within 5 minutes gets the same reply.
    auto attempt = config->fifo ? f.get("ReceiveRequestAttemptId") : std::string{};
    if (!attempt.empty()) {
      if (auto x = receive_attempts::check_id(attempt))
        return refuse(*x);
      attempt = name + "\n" + attempt;
      if (auto* earlier = attempts_.find(attempt, node_clock_ms()))
        return *earlier;
    }
    return bridge_.ask<std::vector<delivery>>(*q, receive_atom::value, request)
        .then([this, system, user, scope = r.scope,
               attempt](caf::expected<std::vector<delivery>> got) -> aws_reply {
          if (!got)
            return sqs_error(got.error());
          auto wants = [&](const char* name) {
            return std::find(system.begin(), system.end(), "All") != system.end() ||
                   std::find(system.begin(), system.end(), name) != system.end();
          };
          auto reply = sqs.ok("ReceiveMessage", [&](aws::xml_writer& w) {
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
              if (!e.history.empty())
                system_attribute("DeadLetterQueueSourceArn",
                                 queue_arn(scope, e.history.back().source));
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
          if (!attempt.empty() && !got->empty())
            attempts_.remember(attempt, reply, node_clock_ms());
          return reply;
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

  if (action == "ChangeMessageVisibilityBatch") {
    const std::string prefix = "ChangeMessageVisibilityBatchRequestEntry";
    std::vector<std::string> ids;
    auto listed = sqs.batch_entries(f, prefix, ids);
    if (auto* x = std::get_if<refusal>(&listed))
      return refuse(*x);
    const auto& entries = std::get<std::vector<unsigned>>(listed);
    auto changes = kj::heapArrayBuilder<kj::Promise<std::optional<refusal>>>(entries.size());
    for (auto n : entries) {
      auto entry = prefix + "." + std::to_string(n) + ".";
      auto receipt = f.get(entry + "ReceiptHandle");
      auto timeout = sqs.integer(f, entry + "VisibilityTimeout", 0, 43200, 0);
      if (receipt.empty()) {
        changes.add(std::optional<refusal>{missing(entry + "ReceiptHandle")});
      } else if (auto* x = std::get_if<refusal>(&timeout)) {
        changes.add(std::optional<refusal>{*x});
      } else {
        changes.add(change_visibility(*q, receipt, std::get<int64_t>(timeout)));
      }
    }
    return kj::joinPromises(changes.finish())
        .then([ids](kj::Array<std::optional<refusal>> out) -> aws_reply {
          return sqs.ok("ChangeMessageVisibilityBatch", [&](aws::xml_writer& w) {
            for (size_t i = 0; i < ids.size(); ++i)
              if (!out[i]) {
                w.open("ChangeMessageVisibilityBatchResultEntry");
                w.leaf("Id", ids[i]);
                w.close();
              }
            for (size_t i = 0; i < ids.size(); ++i)
              if (out[i])
                batch_error(w, ids[i], out[i]->code, out[i]->message);
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
    return change_visibility(*q, receipt, std::get<int64_t>(timeout))
        .then([](std::optional<refusal> x) -> aws_reply {
          return x ? sqs.error(*x) : sqs.ok("ChangeMessageVisibility");
        });
  }

  return refuse({500, "InternalFailure", "The action " + action + " has no handler."});
}

} // namespace mailroom
