// The state of one topic and its fan-out rules, with no actor or I/O inside: which subscriptions
// a published message reaches (filter policies), and what each copy looks like (raw or the SNS
// notification JSON, lineage). topic_actor is the shell that stages the copies in the queues
// and commits them in one journal transaction; tests drive this class directly.
#pragma once

#include "filter_policy.hpp"
#include "mailroom/arn.hpp"
#include "mailroom/topic_types.hpp"

#include <caf/expected.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mailroom {

/// The SNS notification JSON an enveloped subscription delivers, with the fields SNS writes.
/// It is one body for every enveloped subscription (journaled once), so it carries no
/// subscription's own ARN; and it is not signed: Signature and SigningCertURL are
/// placeholders of the shape SNS uses, as in moto.
std::string notification_json(const aws_scope& scope, const std::string& topic,
                              const std::string& message_id, int64_t published_at_ms,
                              const outgoing_message& published);

class topic_state {
public:
  /// The two forms a copy's body takes: the message's own body, or the SNS notification.
  enum form : uint8_t { raw_form, notification_form, form_count };

  /// Copies of the published messages bound for one subscription.
  struct copies {
    subscription target; ///< as it was when the message was routed
    std::vector<outgoing_message> messages;
    std::vector<uint32_t> shared; ///< per copy, its entry in the plan's shared[body_form()]
    form body_form() const { return target.raw ? raw_form : notification_form; }
  };

  struct plan {
    std::vector<std::string> ids; ///< publish ids, one per published message
    std::vector<copies> batches;  ///< one per subscription that matched anything
    uint64_t unmatched = 0;       ///< messages no subscription took
    /// Per form, what its copies share (body, attributes, lineage), once per message that a
    /// subscription of that form took: journaled once for all of them.
    std::vector<outgoing_message> shared[form_count];
  };

  /// Compiles the filter policies. Fails like validate(config).
  static caf::expected<topic_state> make(topic_config config);

  const topic_config& config() const { return config_; }
  const std::string& name() const { return config_.name; }

  /// Decides where each message goes and builds the copies (each notification body once).
  /// Each copy is caused by its publish (causation id = publish id) and belongs to the
  /// producer's correlation id, or to the fan-out itself (the publish id) when it gave none.
  /// `region`: of the ARNs in the notifications (the one the publish was signed for).
  plan route(std::vector<outgoing_message> messages, int64_t now_ms,
             const aws_scope& scope = {}) const;

private:
  topic_state(topic_config config, std::vector<std::optional<filter_policy>> policies)
      : config_(std::move(config)), policies_(std::move(policies)) {}

  topic_config config_;
  std::vector<std::optional<filter_policy>> policies_; ///< one per subscription; none: all match
};

} // namespace mailroom
