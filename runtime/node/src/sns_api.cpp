#include "sns_api.hpp"

#include "aws_query.hpp"
#include "mailroom/arn.hpp"
#include "mailroom/error.hpp"
#include "mailroom/node.hpp"
#include "mailroom/protocol.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <set>

namespace mailroom {

namespace {

const aws_dialect& sns = sns_dialect;
/// Topics and subscriptions per page of ListTopics / ListSubscriptions (SNS: 100).
constexpr size_t page_size = 100;
/// Largest message SNS publishes (256 KiB, with its attributes).
constexpr size_t max_publish_bytes = 256 * 1024;

refusal not_found(const std::string& what) {
  return {404, "NotFound", what + " does not exist"};
}

/// The topic a TopicArn (or TargetArn) names, by name: another region or account still finds
/// it, which is friendlier than NotFound for a node that has one of each.
checked<std::string> topic_of(const aws::form& f) {
  auto* arn = f.find("TopicArn");
  if (!arn)
    arn = f.find("TargetArn");
  if (!arn)
    return missing("TopicArn");
  auto name = std::string{arn_resource(*arn)};
  if (name.empty())
    return sns.invalid("Invalid parameter: TopicArn '" + arn->substr(0, 200) + "'");
  return name;
}

/// A subscription ARN's topic and queue ("arn:aws:sns:R:A:TOPIC:QUEUE").
checked<std::pair<std::string, std::string>> subscription_of(const std::string& arn) {
  auto last = arn.rfind(':');
  auto before = last == std::string::npos ? std::string::npos : arn.rfind(':', last - 1);
  if (arn.empty())
    return missing("SubscriptionArn");
  if (before == std::string::npos || last + 1 == arn.size() || last == before + 1)
    return sns.invalid("Invalid parameter: SubscriptionArn '" + arn.substr(0, 200) +
                       "' is not arn:aws:sns:REGION:ACCOUNT:TOPIC:ID");
  return std::pair{arn.substr(before + 1, last - before - 1), arn.substr(last + 1)};
}

/// The queue an sqs endpoint names: a queue ARN, a queue URL (as the reference patterns pass
/// it, and real SNS refuses), or a bare name.
std::string queue_of_endpoint(const std::string& endpoint) {
  if (endpoint.rfind("http://", 0) == 0 || endpoint.rfind("https://", 0) == 0) {
    auto path = endpoint.find('/', endpoint.find("//") + 2);
    if (path == std::string::npos)
      return {}; // a host without a path names no queue
    return endpoint.substr(endpoint.find_last_of('/') + 1);
  }
  return std::string{arn_resource(endpoint)};
}

/// Applies one subscription attribute (Subscribe's Attributes map, SetSubscriptionAttributes).
std::optional<refusal> apply(subscription& s, const std::string& name, const std::string& value) {
  if (name == "RawMessageDelivery") {
    if (value != "true" && value != "false")
      return sns.invalid(
          "Invalid parameter: Attributes Reason: RawMessageDelivery: Invalid value [" +
          value.substr(0, 40) + "]. Must be true or false.");
    s.raw = value == "true";
  } else if (name == "FilterPolicy") {
    s.filter_policy = value;
  } else if (name == "FilterPolicyScope") {
    if (value != "MessageAttributes" && value != "MessageBody")
      return sns.invalid(
          "Invalid parameter: Attributes Reason: FilterPolicyScope: Invalid value [" +
          value.substr(0, 40) +
          "]. Please use either MessageBody or "
          "MessageAttributes");
    s.filter_on_body = value == "MessageBody";
  } else if (name == "RedrivePolicy") {
    // {"deadLetterTargetArn": "arn:aws:sqs:REGION:ACCOUNT:QUEUE"}; empty: none.
    auto bad = [&](const char* why) {
      return sns.invalid("Invalid parameter: RedrivePolicy: " + std::string{why});
    };
    if (value.empty()) {
      s.dead_letter_queue.clear();
      return std::nullopt;
    }
    auto json = nlohmann::json::parse(value, nullptr, false);
    if (json.is_discarded() || !json.is_object() || json.size() != 1 ||
        !json.contains("deadLetterTargetArn") || !json["deadLetterTargetArn"].is_string())
      return bad("must be a JSON object with just deadLetterTargetArn, an SQS queue ARN");
    auto queue = queue_of_sqs_arn(json["deadLetterTargetArn"].get<std::string>());
    if (!queue)
      return bad("deadLetterTargetArn is not an SQS queue ARN");
    s.dead_letter_target.clear(); // a queue instead of a sink
    s.dead_letter_queue = std::move(*queue);
  } else {
    return sns.invalid("Invalid parameter: Attributes Reason: Unknown or unsupported attribute " +
                       name.substr(0, 100) +
                       " (this Mailroom version takes RawMessageDelivery, FilterPolicy, "
                       "FilterPolicyScope and RedrivePolicy).");
  }
  return std::nullopt;
}

/// The SNS error for a Mailroom error.
aws_reply sns_error(const caf::error& err) {
  auto message = message_of(err);
  switch (code_of(err)) {
  case errc::not_found:
  case errc::unknown_queue:
    return sns.error(404, "NotFound", message);
  case errc::already_exists:
  case errc::invalid_argument:
  case errc::message_too_large:
    return sns.error(400, "InvalidParameter", message);
  case errc::queue_full:
  case errc::memory_full:
    return sns.error(429, "Throttled", message); // retried by boto3 and the AWS CLI
  case errc::disk_full:
  case errc::io_error:
  case errc::corruption:
  case errc::unavailable:
    return sns.error(503, "ServiceUnavailable", message);
  default:
    return sns.error(500, "InternalError", message);
  }
}

/// One message of Publish or of a PublishBatch entry (`prefix` "" or "…member.N.").
checked<outgoing_message> published(const aws::form& f, const std::string& prefix) {
  outgoing_message m;
  auto* text = f.find(prefix + "Message");
  if (!text)
    return missing(prefix + "Message");
  if (text->empty())
    return sns.invalid("Invalid parameter: Empty message (" + prefix + "Message)");
  if (f.get(prefix + "MessageStructure") == "json")
    return sns.invalid("Invalid parameter: MessageStructure json is not supported by this "
                       "Mailroom version (" +
                       prefix + "MessageStructure)");
  m.body = *text;
  m.subject = f.get(prefix + "Subject");
  if (m.subject.size() > 100 || !aws::xml_representable(m.subject) ||
      m.subject.find_first_of("\r\n") != std::string::npos)
    return sns.invalid("Invalid parameter: Subject (" + prefix +
                       "Subject) must be at most 100 printable characters on one line");
  auto attributes = sns.message_attributes(f, prefix + "MessageAttributes.entry");
  if (auto* x = std::get_if<refusal>(&attributes))
    return *x;
  m.attributes = std::move(std::get<attribute_list>(attributes));
  size_t bytes = m.body.size();
  for (const auto& a : m.attributes)
    bytes += a.key.size() + a.value.size() + a.data_type.size();
  if (bytes > max_publish_bytes)
    return sns.invalid(
        "Invalid parameter: Message too long (" + prefix + "Message: " + std::to_string(bytes) +
        " bytes with its attributes, at most " + std::to_string(max_publish_bytes) + ")");
  return m;
}

void write_subscription(aws::xml_writer& w, const aws_scope& scope, const std::string& topic,
                        const subscription& s) {
  w.open("member");
  w.leaf("SubscriptionArn", subscription_arn(scope, topic, s.queue));
  w.leaf("Owner", scope.account);
  w.leaf("Protocol", "sqs");
  w.leaf("Endpoint", queue_arn(scope, s.queue));
  w.leaf("TopicArn", topic_arn(scope, topic));
  w.close();
}

/// SNS DisplayName: at most 100 characters XML can carry.
std::optional<refusal> check_display_name(const std::string& value) {
  if (value.size() > 100 || !aws::xml_representable(value))
    return sns.invalid("Invalid parameter: DisplayName must be at most 100 characters XML can "
                       "carry");
  return std::nullopt;
}

void write_map(aws::xml_writer& w, const std::map<std::string, std::string>& values) {
  w.open("Attributes");
  for (const auto& [k, v] : values) {
    w.open("entry");
    w.leaf("key", k);
    w.leaf("value", v);
    w.close();
  }
  w.close();
}

} // namespace

kj::Promise<aws_reply> sns_api::handle(const aws_request& r) {
  const auto& f = r.form;
  const auto action = f.get("Action");
  const auto& scope = r.scope;
  auto refuse = [](const refusal& x) -> kj::Promise<aws_reply> { return sns.error(x); };
  static const std::set<std::string> served = {"CreateTopic",
                                               "DeleteTopic",
                                               "ListTopics",
                                               "GetTopicAttributes",
                                               "SetTopicAttributes",
                                               "Subscribe",
                                               "Unsubscribe",
                                               "ListSubscriptions",
                                               "ListSubscriptionsByTopic",
                                               "GetSubscriptionAttributes",
                                               "SetSubscriptionAttributes",
                                               "Publish",
                                               "PublishBatch"};
  if (auto x = unknown_action(action, served))
    return refuse(*x);
  auto check_dead_letter_queue = [this](const subscription& s) -> std::optional<refusal> {
    if (s.dead_letter_queue.empty())
      return std::nullopt;
    auto dlq = node_.queue_configuration(s.dead_letter_queue);
    if (!dlq)
      return sns.invalid("Invalid parameter: RedrivePolicy: deadLetterTargetArn: no queue named '" +
                         s.dead_letter_queue + "'");
    auto subscribed = node_.queue_configuration(s.queue);
    if (subscribed && subscribed->fifo != dlq->fifo)
      return sns.invalid("Invalid parameter: RedrivePolicy: the dead-letter queue must be of the "
                         "subscribed queue's type (FIFO or standard)");
    return std::nullopt;
  };
  auto off_loop = [this](std::function<caf::error()> call, std::function<aws_reply()> answer) {
    return bridge_.run(std::move(call)).then([answer = std::move(answer)](caf::error err) {
      return err ? sns_error(err) : answer();
    });
  };

  if (action == "CreateTopic") {
    auto name = f.get("Name");
    if (name.empty())
      return refuse(missing("Name"));
    std::optional<std::string> display_name;
    for (auto n : f.entries("Attributes.entry")) {
      auto key = f.get("Attributes.entry." + std::to_string(n) + ".key");
      auto value = f.get("Attributes.entry." + std::to_string(n) + ".value");
      if (key == "DisplayName") {
        if (auto x = check_display_name(value))
          return refuse(*x);
        display_name = value;
      } else if (!(key == "FifoTopic" && value == "false")) {
        return refuse(sns.invalid("Invalid parameter: Attributes Reason: " + key.substr(0, 100) +
                                  " is not supported by this Mailroom version"));
      }
    }
    if (!f.entries("Tags.member").empty())
      return refuse(sns.invalid("Invalid parameter: Tags are not supported by this Mailroom "
                                "version"));
    auto arn = topic_arn(scope, name);
    auto answer = [arn] {
      return sns.ok("CreateTopic", [&](aws::xml_writer& w) { w.leaf("TopicArn", arn); });
    };
    // Idempotent, whatever its subscriptions (SNS): a topic that exists is answered as created,
    // unless it was asked for with another display name.
    if (auto existing = node_.topic_configuration(name)) {
      if (display_name && existing->display_name != *display_name)
        return refuse(sns.invalid("Invalid parameter: Attributes Reason: Topic already exists "
                                  "with different attributes"));
      return answer();
    }
    return bridge_
        .run([this, name, display_name = display_name.value_or("")] {
          auto err = node_.create_topic({name, {}, display_name});
          return err && code_of(err) == errc::already_exists && node_.topic(name) ? caf::error{}
                                                                                  : err;
        })
        .then([answer](caf::error err) { return err ? sns_error(err) : answer(); });
  }

  if (action == "ListTopics") {
    auto names = node_.topic_names();
    std::sort(names.begin(), names.end());
    auto after = f.get("NextToken");
    return sns.ok("ListTopics", [&](aws::xml_writer& w) {
      w.open("Topics");
      size_t n = 0;
      std::string last;
      for (const auto& t : names) {
        if (!after.empty() && t <= after)
          continue;
        if (n++ == page_size)
          break;
        w.open("member");
        w.leaf("TopicArn", topic_arn(scope, t));
        w.close();
        last = t;
      }
      w.close();
      if (n > page_size)
        w.leaf("NextToken", last);
    });
  }

  if (action == "ListSubscriptions") {
    auto names = node_.topic_names();
    std::sort(names.begin(), names.end());
    return sns.ok("ListSubscriptions", [&](aws::xml_writer& w) {
      w.open("Subscriptions");
      for (const auto& t : names)
        if (auto config = node_.topic_configuration(t))
          for (const auto& s : config->subscriptions)
            write_subscription(w, scope, t, s);
      w.close();
    });
  }

  if (action == "Unsubscribe" || action == "GetSubscriptionAttributes" ||
      action == "SetSubscriptionAttributes") {
    auto ids = subscription_of(f.get("SubscriptionArn"));
    if (auto* x = std::get_if<refusal>(&ids))
      return refuse(*x);
    auto [topic, queue] = std::get<std::pair<std::string, std::string>>(ids);
    if (action == "Unsubscribe")
      return off_loop([this, topic, queue] { return node_.unsubscribe(topic, queue); },
                      [] { return sns.ok("Unsubscribe"); });
    auto config = node_.topic_configuration(topic);
    if (!config)
      return sns_error(config.error());
    auto it = std::find_if(config->subscriptions.begin(), config->subscriptions.end(),
                           [&](const subscription& s) { return s.queue == queue; });
    if (it == config->subscriptions.end())
      return refuse(not_found("Subscription"));
    if (action == "GetSubscriptionAttributes") {
      const auto& s = *it;
      std::map<std::string, std::string> values = {
          {"SubscriptionArn", subscription_arn(scope, topic, queue)},
          {"TopicArn", topic_arn(scope, topic)},
          {"Owner", scope.account},
          {"Protocol", "sqs"},
          {"Endpoint", queue_arn(scope, queue)},
          {"PendingConfirmation", "false"},
          {"ConfirmationWasAuthenticated", "true"},
          {"RawMessageDelivery", s.raw ? "true" : "false"},
          {"FilterPolicyScope", s.filter_on_body ? "MessageBody" : "MessageAttributes"}};
      if (!s.filter_policy.empty())
        values["FilterPolicy"] = s.filter_policy;
      if (!s.dead_letter_queue.empty())
        values["RedrivePolicy"] =
            nlohmann::json{{"deadLetterTargetArn", queue_arn(scope, s.dead_letter_queue)}}.dump();
      return sns.ok("GetSubscriptionAttributes", [&](aws::xml_writer& w) { write_map(w, values); });
    }
    auto name = f.get("AttributeName");
    if (name.empty())
      return refuse(missing("AttributeName"));
    auto changed = *it;
    if (auto x = apply(changed, name, f.get("AttributeValue")))
      return refuse(*x);
    if (auto x = check_dead_letter_queue(changed))
      return refuse(*x);
    return off_loop(
        [this, topic = topic, changed] { return node_.update_subscription(topic, changed); },
        [] { return sns.ok("SetSubscriptionAttributes"); });
  }

  auto topic_or = topic_of(f);
  if (auto* x = std::get_if<refusal>(&topic_or))
    return refuse(*x);
  auto topic = std::get<std::string>(topic_or);

  if (action == "DeleteTopic") {
    // Deleting a topic that does not exist is not an error (SNS).
    return off_loop(
        [this, topic] {
          auto err = node_.delete_topic(topic);
          return code_of(err) == errc::not_found ? caf::error{} : err;
        },
        [] { return sns.ok("DeleteTopic"); });
  }

  auto config = node_.topic_configuration(topic);
  if (!config)
    return refuse(not_found("Topic"));

  if (action == "GetTopicAttributes") {
    std::map<std::string, std::string> values = {
        {"TopicArn", topic_arn(scope, topic)},
        {"Owner", scope.account},
        {"DisplayName", config->display_name},
        {"SubscriptionsConfirmed", std::to_string(config->subscriptions.size())},
        {"SubscriptionsPending", "0"},
        {"SubscriptionsDeleted", "0"},
        {"FifoTopic", "false"}};
    return sns.ok("GetTopicAttributes", [&](aws::xml_writer& w) { write_map(w, values); });
  }

  if (action == "ListSubscriptionsByTopic") {
    return sns.ok("ListSubscriptionsByTopic", [&](aws::xml_writer& w) {
      w.open("Subscriptions");
      for (const auto& s : config->subscriptions)
        write_subscription(w, scope, topic, s);
      w.close();
    });
  }

  if (action == "Subscribe") {
    auto protocol = f.get("Protocol");
    if (protocol.empty())
      return refuse(missing("Protocol"));
    if (protocol != "sqs")
      return refuse(sns.invalid("Invalid parameter: Protocol '" + protocol.substr(0, 40) +
                                "': this Mailroom version delivers to sqs endpoints only"));
    subscription s;
    s.queue = queue_of_endpoint(f.get("Endpoint"));
    if (s.queue.empty())
      return refuse(sns.invalid("Invalid parameter: Endpoint '" + f.get("Endpoint").substr(0, 200) +
                                "' names no queue (a queue ARN, URL or name)"));
    for (auto n : f.entries("Attributes.entry")) {
      auto at = "Attributes.entry." + std::to_string(n);
      if (auto x = apply(s, f.get(at + ".key"), f.get(at + ".value")))
        return refuse(*x);
    }
    if (auto x = check_dead_letter_queue(s))
      return refuse(*x);
    auto arn = subscription_arn(scope, topic, s.queue);
    return off_loop([this, topic, s] { return node_.subscribe(topic, s); },
                    [arn] {
                      return sns.ok("Subscribe",
                                    [&](aws::xml_writer& w) { w.leaf("SubscriptionArn", arn); });
                    });
  }

  if (action == "SetTopicAttributes") {
    auto name = f.get("AttributeName");
    if (name.empty())
      return refuse(missing("AttributeName"));
    if (name != "DisplayName")
      return refuse(sns.invalid("Invalid parameter: AttributeName " + name.substr(0, 100) +
                                ": only DisplayName is settable in this Mailroom version"));
    auto value = f.get("AttributeValue");
    if (auto x = check_display_name(value))
      return refuse(*x);
    return off_loop([this, topic, value] { return node_.set_topic_display_name(topic, value); },
                    [] { return sns.ok("SetTopicAttributes"); });
  }

  auto actor = node_.topic(topic);
  if (!actor)
    return refuse(not_found("Topic"));

  if (action == "Publish") {
    auto m = published(f, "");
    if (auto* x = std::get_if<refusal>(&m))
      return refuse(*x);
    std::vector<outgoing_message> batch{std::move(std::get<outgoing_message>(m))};
    return bridge_.ask<publish_result>(*actor, publish_atom::value, std::move(batch), scope)
        .then([](caf::expected<publish_result> out) -> aws_reply {
          if (!out)
            return sns_error(out.error());
          return sns.ok("Publish",
                        [&](aws::xml_writer& w) { w.leaf("MessageId", out->ids.front()); });
        });
  }

  if (action == "PublishBatch") {
    const std::string prefix = "PublishBatchRequestEntries.member";
    std::vector<std::string> ids;
    auto listed = sns.batch_entries(f, prefix, ids);
    if (auto* x = std::get_if<refusal>(&listed))
      return refuse(*x);
    const auto& entries = std::get<std::vector<unsigned>>(listed);
    std::vector<outgoing_message> batch;
    std::vector<std::pair<std::string, refusal>> failed;
    std::vector<std::string> sent_ids; // entry ids of `batch`, in order
    for (size_t i = 0; i < entries.size(); ++i) {
      auto m = published(f, prefix + "." + std::to_string(entries[i]) + ".");
      if (auto* x = std::get_if<refusal>(&m)) {
        failed.emplace_back(ids[i], *x);
        continue;
      }
      batch.push_back(std::move(std::get<outgoing_message>(m)));
      sent_ids.push_back(ids[i]);
    }
    auto write = [failed, sent_ids](const std::vector<std::string>& message_ids) {
      return sns.ok("PublishBatch", [&](aws::xml_writer& w) {
        w.open("Successful");
        for (size_t i = 0; i < message_ids.size(); ++i) {
          w.open("member");
          w.leaf("Id", sent_ids[i]);
          w.leaf("MessageId", message_ids[i]);
          w.close();
        }
        w.close();
        w.open("Failed");
        for (const auto& [id, x] : failed) {
          w.open("member");
          write_error_entry(w, id, x.code, x.message);
          w.close();
        }
        w.close();
      });
    };
    if (batch.empty())
      return write({});
    // The accepted entries are one publish: every copy durable, or none.
    return bridge_.ask<publish_result>(*actor, publish_atom::value, std::move(batch), scope)
        .then([write](caf::expected<publish_result> out) -> aws_reply {
          if (!out)
            return sns_error(out.error());
          return write(out->ids);
        });
  }

  return refuse({400, "InvalidAction",
                 action.empty()
                     ? std::string{"The request names no Action."}
                     : "The action " + action.substr(0, 100) + " is not valid for this endpoint."});
}

} // namespace mailroom
