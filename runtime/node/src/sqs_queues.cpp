// SQS's queue actions: create, find, list, configure (attributes, RedrivePolicy, tags), delete
// and purge queues, the dead-letter sources of a queue, and message move tasks.
#include "sqs_api.hpp"
#include "sqs_detail.hpp"

#include "mailroom/arn.hpp"
#include "mailroom/aws/xml_writer.hpp"
#include "mailroom/error.hpp"
#include "mailroom/node.hpp"
#include "mailroom/protocol.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <set>
#include <variant>

namespace mailroom {

using namespace sqs_face;

namespace {

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

/// RedrivePolicy: {"deadLetterTargetArn": ARN, "maxReceiveCount": 1..1000 as number or text}
/// makes the queue's dead letters go to that queue; empty text ends it.
std::optional<refusal> apply_redrive_policy(const std::string& text, queue_config& config) {
  auto bad = [&](const std::string& reason) {
    return refusal{400, "InvalidParameterValue",
                   "Value " + text.substr(0, 200) +
                       " for parameter RedrivePolicy is invalid. Reason: " + reason};
  };
  if (text.empty()) {
    if (!config.dead_letter_queue.empty()) {
      config.dead_letter_queue.clear();
      config.max_receive_count = 0;
    }
    return std::nullopt;
  }
  auto json = nlohmann::json::parse(text, nullptr, false);
  if (json.is_discarded() || !json.is_object())
    return bad("Redrive policy is not a JSON object.");
  for (const auto& item : json.items())
    if (item.key() != "deadLetterTargetArn" && item.key() != "maxReceiveCount")
      return bad("Unknown key " + item.key().substr(0, 100) + ".");
  auto arn = json.find("deadLetterTargetArn");
  if (arn == json.end() || !arn->is_string())
    return bad("Redrive policy needs deadLetterTargetArn, the ARN of the dead-letter queue.");
  auto target = queue_of_sqs_arn(arn->get<std::string>());
  if (!target)
    return bad("deadLetterTargetArn is not an SQS queue ARN.");
  auto count = json.find("maxReceiveCount");
  std::optional<int64_t> n;
  if (count != json.end() && count->is_number_integer())
    n = count->get<int64_t>();
  else if (count != json.end() && count->is_string())
    n = whole_number(count->get<std::string>());
  if (!n || *n < 1 || *n > 1000)
    return bad("maxReceiveCount must be an integer from 1 to 1000.");
  config.dead_letter_target.clear(); // a queue instead of a sink
  config.dead_letter_queue = std::move(*target);
  config.max_receive_count = static_cast<uint32_t>(*n);
  return std::nullopt;
}

/// The dead-letter queue a RedrivePolicy named must exist and be of the source's kind.
std::optional<refusal> check_dead_letter_queue(node& n, const queue_config& config) {
  if (config.dead_letter_queue.empty())
    return std::nullopt;
  auto reason = [&](const std::string& why) {
    return refusal{400, "InvalidParameterValue",
                   "Value for parameter RedrivePolicy is invalid. Reason: " + why};
  };
  auto target = n.queue_configuration(config.dead_letter_queue);
  if (!target)
    return reason("Dead letter target " + config.dead_letter_queue + " does not exist.");
  if (target->fifo != config.fifo)
    return reason("Dead-letter queue must be same type of queue as the source.");
  return std::nullopt;
}

/// Tag.N.Key / Tag.N.Value (CreateQueue, TagQueue).
checked<std::map<std::string, std::string>> tags_of(const aws::form& f) {
  std::map<std::string, std::string> out;
  for (auto n : f.entries("Tag")) {
    auto prefix = "Tag." + std::to_string(n);
    auto* key = f.find(prefix + ".Key");
    if (!key)
      return missing(prefix + ".Key");
    auto value = f.get(prefix + ".Value");
    if (key->empty() || key->size() > 128 || value.size() > 256 || !aws::xml_representable(*key) ||
        !aws::xml_representable(value))
      return sqs.invalid("Tag " + key->substr(0, 128) +
                         " needs a key of 1 to 128 and a value of at most 256 characters.");
    out[*key] = value;
  }
  return out;
}

std::optional<refusal> check_tag_count(const queue_config& config) {
  if (config.tags.size() > max_queue_tags)
    return sqs.invalid("Too many tags: a queue carries at most " + std::to_string(max_queue_tags) +
                       ", this request leaves " + std::to_string(config.tags.size()) + ".");
  return std::nullopt;
}

/// The queue an SQS ARN field names (message move tasks).
checked<std::string> queue_of_arn(const aws::form& f, const std::string& field) {
  auto* arn = f.find(field);
  if (!arn)
    return missing(field);
  auto queue = queue_of_sqs_arn(*arn);
  if (!queue)
    return sqs.invalid("Value " + arn->substr(0, 200) + " for parameter " + field +
                       " is not an SQS queue ARN.");
  return std::move(*queue);
}

void write_move_task(aws::xml_writer& w, const aws_scope& scope, const message_move_status& t) {
  w.open("ListMessageMoveTasksResultEntry");
  w.leaf("TaskHandle", t.handle);
  w.leaf("Status", t.status);
  w.leaf("SourceArn", queue_arn(scope, t.request.source));
  if (!t.request.destination.empty())
    w.leaf("DestinationArn", queue_arn(scope, t.request.destination));
  if (t.request.rate_per_s > 0)
    w.leaf("MaxNumberOfMessagesPerSecond", std::to_string(t.request.rate_per_s));
  w.leaf("ApproximateNumberOfMessagesMoved", std::to_string(t.moved));
  w.leaf("ApproximateNumberOfMessagesToMove", std::to_string(t.to_move));
  if (!t.failure.empty())
    w.leaf("FailureReason", t.failure);
  w.leaf("StartedTimestamp", std::to_string(t.started_at_ms));
  w.close();
}

/// The SQS error of a message move task's refusal.
aws_reply move_error(const caf::error& err) {
  switch (code_of(err)) {
  case errc::unknown_queue:
  case errc::not_found:
    return sqs.error(400, "ResourceNotFoundException", message_of(err));
  case errc::invalid_argument:
  case errc::already_exists:
    return sqs.error(400, "UnsupportedOperation", message_of(err));
  default:
    return sqs_error(err);
  }
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
    } else if (name == "RedrivePolicy") {
      if (auto x = apply_redrive_policy(value, config))
        return x;
    } else if (name == "RedriveAllowPolicy" || name == "Policy" || name == "KmsMasterKeyId" ||
               name == "KmsDataKeyReusePeriodSeconds" || name == "SqsManagedSseEnabled" ||
               name == "DeduplicationScope" || name == "FifoThroughputLimit") {
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

} // namespace

kj::Promise<aws_reply> sqs_api::put_queue(const queue_config& changed, const char* action) {
  return bridge_.run([this, changed] { return node_.put_queue(changed); })
      .then(
          [action](caf::error err) -> aws_reply { return err ? sqs_error(err) : sqs.ok(action); });
}

kj::Promise<aws_reply> sqs_api::queues(const aws_request& r, const std::string& action) {
  const auto& f = r.form;
  auto refuse = [](const refusal& x) -> kj::Promise<aws_reply> { return sqs.error(x); };
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
    auto url = queue_url(r, name);
    // An existing queue is answered as created when the attributes asked for are the ones it
    // has (those not named, and its tags, are not compared); otherwise QueueAlreadyExists.
    if (auto existing = node_.queue_configuration(name)) {
      auto asked = *existing;
      if (apply_attributes(std::get<0>(attributes), asked) || asked != *existing)
        return refuse({400, "QueueAlreadyExists",
                       "A queue named " + name + " exists with other attributes."});
      return sqs.ok("CreateQueue", [&](aws::xml_writer& w) { w.leaf("QueueUrl", url); });
    }
    auto tags = tags_of(f);
    if (auto* x = std::get_if<refusal>(&tags))
      return refuse(*x);
    config.tags = std::move(std::get<0>(tags));
    if (auto x = check_tag_count(config))
      return refuse(*x);
    if (auto x = check_dead_letter_queue(node_, config))
      return refuse(*x);
    if (auto err = validate(config))
      return sqs_error(400, "InvalidAttributeValue", message_of(err));
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

  if (action == "StartMessageMoveTask") {
    message_move_request request;
    auto source = queue_of_arn(f, "SourceArn");
    if (auto* x = std::get_if<refusal>(&source))
      return refuse(*x);
    request.source = std::get<std::string>(source);
    if (f.has("DestinationArn")) {
      auto destination = queue_of_arn(f, "DestinationArn");
      if (auto* x = std::get_if<refusal>(&destination))
        return refuse(*x);
      request.destination = std::get<std::string>(destination);
    }
    auto rate = sqs.integer(f, "MaxNumberOfMessagesPerSecond", 1, 500, 0);
    if (auto* x = std::get_if<refusal>(&rate))
      return refuse(*x);
    request.rate_per_s = static_cast<uint32_t>(std::get<int64_t>(rate));
    if (auto err = node_.check(request))
      return move_error(err);
    return bridge_
        .ask<message_move_status>(node_.message_mover(), redrive_atom::value, std::move(request))
        .then([](caf::expected<message_move_status> t) -> aws_reply {
          if (!t)
            return move_error(t.error());
          return sqs.ok("StartMessageMoveTask",
                        [&](aws::xml_writer& w) { w.leaf("TaskHandle", t->handle); });
        });
  }

  if (action == "ListMessageMoveTasks") {
    auto source = queue_of_arn(f, "SourceArn");
    if (auto* x = std::get_if<refusal>(&source))
      return refuse(*x);
    auto max = sqs.integer(f, "MaxResults", 1, 10, 1);
    if (auto* x = std::get_if<refusal>(&max))
      return refuse(*x);
    auto name = std::get<std::string>(source);
    if (!node_.queue(name))
      return move_error(make_error(errc::unknown_queue, "no queue named '" + name + "'"));
    auto n = static_cast<size_t>(std::get<int64_t>(max));
    return bridge_
        .ask<std::vector<message_move_status>>(node_.message_mover(), list_atom::value, name)
        .then([n, scope =
                      r.scope](caf::expected<std::vector<message_move_status>> tasks) -> aws_reply {
          if (!tasks)
            return move_error(tasks.error());
          return sqs.ok("ListMessageMoveTasks", [&](aws::xml_writer& w) {
            for (size_t i = 0; i < tasks->size() && i < n; ++i)
              write_move_task(w, scope, (*tasks)[i]);
          });
        });
  }

  if (action == "CancelMessageMoveTask") {
    auto handle = f.get("TaskHandle");
    if (handle.empty())
      return refuse(missing("TaskHandle"));
    return bridge_.ask<message_move_status>(node_.message_mover(), cancel_atom::value, handle)
        .then([](caf::expected<message_move_status> t) -> aws_reply {
          if (!t)
            return move_error(t.error());
          return sqs.ok("CancelMessageMoveTask", [&](aws::xml_writer& w) {
            w.leaf("ApproximateNumberOfMessagesMoved", std::to_string(t->moved));
          });
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

  if (action == "ListDeadLetterSourceQueues") {
    auto max = sqs.integer(f, "MaxResults", 1, 1000, 1000);
    if (auto* x = std::get_if<refusal>(&max))
      return refuse(*x);
    auto after = f.get("NextToken"); // the last name of the previous page
    std::vector<std::string> page;
    bool more = false;
    for (const auto& source : node_.dead_letter_sources(name)) {
      if (!after.empty() && source <= after)
        continue;
      if (page.size() == static_cast<size_t>(std::get<int64_t>(max))) {
        more = true;
        break;
      }
      page.push_back(source);
    }
    return sqs.ok("ListDeadLetterSourceQueues", [&](aws::xml_writer& w) {
      for (const auto& source : page)
        w.leaf("QueueUrl", queue_url(r, source));
      if (more && f.has("MaxResults"))
        w.leaf("NextToken", page.back());
    });
  }

  if (action == "ListQueueTags" || action == "TagQueue" || action == "UntagQueue") {
    auto config = node_.queue_configuration(name);
    if (!config)
      return sqs_error(config.error());
    if (action == "ListQueueTags")
      return sqs.ok("ListQueueTags", [&](aws::xml_writer& w) {
        for (const auto& [key, value] : config->tags) {
          w.open("Tag");
          w.leaf("Key", key);
          w.leaf("Value", value);
          w.close();
        }
      });
    auto changed = *config;
    if (action == "TagQueue") {
      auto tags = tags_of(f);
      if (auto* x = std::get_if<refusal>(&tags))
        return refuse(*x);
      if (std::get<0>(tags).empty())
        return refuse(missing("Tags"));
      for (auto& [key, value] : std::get<0>(tags))
        changed.tags[key] = value;
      if (auto x = check_tag_count(changed))
        return refuse(*x);
    } else {
      auto keys = f.list("TagKey");
      if (keys.empty())
        return refuse(missing("TagKeys"));
      for (const auto& key : keys)
        changed.tags.erase(key);
    }
    return put_queue(changed, action == "TagQueue" ? "TagQueue" : "UntagQueue");
  }

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
    if (changed.dead_letter_queue != config->dead_letter_queue)
      if (auto x = check_dead_letter_queue(node_, changed))
        return refuse(*x);
    if (auto err = validate(changed))
      return sqs_error(400, "InvalidAttributeValue", message_of(err));
    return put_queue(changed, "SetQueueAttributes");
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
                                                   "ContentBasedDeduplication",
                                                   "RedrivePolicy"};
    bool all = std::find(asked.begin(), asked.end(), "All") != asked.end();
    for (const auto& a : asked)
      if (a != "All" && std::find(known.begin(), known.end(), a) == known.end())
        return refuse({400, "InvalidAttributeName", "Unknown Attribute " + a.substr(0, 100) + "."});
    auto arn = queue_arn(r.scope, name);
    return bridge_.ask<queue_stats>(*q, stats_atom::value)
        .then([asked, all, config = *config, arn,
               scope = r.scope](caf::expected<queue_stats> s) -> aws_reply {
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
          if (!config.dead_letter_queue.empty())
            values["RedrivePolicy"] =
                nlohmann::json{{"deadLetterTargetArn", queue_arn(scope, config.dead_letter_queue)},
                               {"maxReceiveCount", config.max_receive_count}}
                    .dump();
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

  return refuse({500, "InternalFailure", "The action " + action + " has no handler."});
}

} // namespace mailroom
