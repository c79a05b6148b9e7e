#include "topic/topic_state.hpp"

#include "mailroom/text_encoding.hpp"

#include "mailroom/duration.hpp"
#include "mailroom/error.hpp"
#include "mailroom/ids.hpp"

#include <nlohmann/json.hpp>

#include <set>

namespace mailroom {

namespace {

caf::expected<filter_policy> compile(const topic_config& config, const subscription& s) {
  auto scope = s.filter_on_body ? filter_scope::body : filter_scope::attributes;
  auto policy = filter_policy::parse(s.filter_policy, scope);
  if (!policy)
    return make_error(errc::invalid_argument, "topic '" + config.name + "': subscription '" +
                                                  s.queue + "': " + message_of(policy.error()));
  return policy;
}

} // namespace

std::string notification_json(const aws_scope& scope, const std::string& topic,
                              const std::string& message_id, int64_t published_at_ms,
                              const outgoing_message& published) {
  const auto& body = published.body;
  auto arn = topic_arn(scope, topic);
  // nlohmann::ordered_json: the fields in the order SNS writes them.
  nlohmann::ordered_json n;
  n["Type"] = "Notification";
  n["MessageId"] = message_id;
  n["TopicArn"] = arn;
  if (!published.subject.empty())
    n["Subject"] = published.subject;
  // SNS carries text; a body that is not valid UTF-8 is sent as base64, said so by
  // MessageEncoding, so that no byte is lost (it used to become U+FFFD).
  if (is_valid_utf8(body)) {
    n["Message"] = body;
  } else {
    n["Message"] = base64_encode(body);
    n["MessageEncoding"] = "base64";
  }
  n["Timestamp"] = format_timestamp_ms(published_at_ms);
  n["SignatureVersion"] = "1";
  n["Signature"] =
      "TWFpbHJvb20gZG9lcyBub3Qgc2lnbiBub3RpZmljYXRpb25z"; // "Mailroom does not sign..."
  n["SigningCertURL"] =
      "https://sns." + scope.region + ".amazonaws.com/SimpleNotificationService-mailroom.pem";
  n["UnsubscribeURL"] =
      "https://sns." + scope.region + ".amazonaws.com/?Action=Unsubscribe&SubscriptionArn=" + arn;
  // SNS writes {Type, Value}: the published type, a Binary value in base64. A text value that
  // is not UTF-8 (sent through the C++ API as String) goes as Binary too, so that no byte is lost.
  if (!published.attributes.empty()) {
    auto& attrs = n["MessageAttributes"] = nlohmann::ordered_json::object();
    for (const auto& a : published.attributes) {
      bool as_binary = a.binary() || !is_valid_utf8(a.value);
      attrs[a.key] =
          nlohmann::ordered_json{{"Type", as_binary && !a.binary() ? "Binary" : a.type_name()},
                                 {"Value", as_binary ? base64_encode(a.value) : a.value}};
    }
  }
  return n.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); // keys: names, UTF-8
}

caf::expected<topic_state> topic_state::make(topic_config config) {
  if (auto err = validate(config))
    return err;
  std::vector<std::optional<filter_policy>> policies;
  for (const auto& s : config.subscriptions) {
    if (s.filter_policy.empty())
      policies.emplace_back(); // no policy: every message
    else
      policies.emplace_back(std::move(*compile(config, s)));
  }
  return topic_state{std::move(config), std::move(policies)};
}

topic_state::plan topic_state::route(std::vector<outgoing_message> messages, int64_t now_ms,
                                     const aws_scope& scope) const {
  plan out;
  out.ids.reserve(messages.size());
  const auto& subs = config_.subscriptions;
  std::vector<copies> per_sub(subs.size());
  for (size_t i = 0; i < subs.size(); ++i)
    per_sub[i].target = subs[i];
  for (auto& m : messages) {
    auto id = new_message_id();
    if (m.sent_at_us == 0)
      m.sent_at_us = now_ms * 1000;
    filter_input input{m.attributes, m.body};
    // This message's entry in each form's shared list, made when a subscription first takes it.
    std::optional<uint32_t> entry[form_count];
    auto shared_entry = [&](form f) {
      if (!entry[f]) {
        outgoing_message shared;
        shared.body = f == raw_form
                          ? m.body
                          : notification_json(scope, config_.name, id, m.sent_at_us / 1000, m);
        // A raw copy carries the attributes as its own (SQS message attributes); an enveloped
        // one has them in its notification only, as SNS delivers it.
        if (f == raw_form)
          shared.attributes = m.attributes;
        shared.dedup_id = m.dedup_id;
        shared.causation_id = id;
        shared.correlation_id = m.correlation_id.empty() ? id : m.correlation_id;
        shared.sent_at_us = m.sent_at_us;
        shared.delay_ms = m.delay_ms; // not journaled with it: each copy's queue applies it
        entry[f] = static_cast<uint32_t>(out.shared[f].size());
        out.shared[f].push_back(std::move(shared));
      }
      return *entry[f];
    };
    bool matched = false;
    for (size_t i = 0; i < subs.size(); ++i) {
      if (policies_[i] && !policies_[i]->matches(input))
        continue;
      matched = true;
      auto& c = per_sub[i];
      auto index = shared_entry(c.body_form());
      c.messages.push_back(out.shared[c.body_form()][index]); // the queue gives it its own id
      c.shared.push_back(index);
    }
    if (!matched)
      ++out.unmatched;
    out.ids.push_back(std::move(id));
  }
  for (auto& c : per_sub)
    if (!c.messages.empty())
      out.batches.push_back(std::move(c));
  return out;
}

} // namespace mailroom
