// Value types of sagas: definitions (steps with commands and compensations), instance states and
// their timelines.
//
//   auto order = mailroom::saga_builder{"order", 1}
//       .step("CreateOrder").to("orders")
//           .command(R"({"type":"CreateOrder","customer":{{customer}}})")
//           .compensation(R"({"type":"CancelOrder","order":{{order_id}}})")
//       .step("ProcessPayment").to("payments")
//           .command(R"({"type":"Charge","order":{{order_id}},"amount":{{amount}}})")
//           .timeout(std::chrono::seconds(10))
//       .build();
//   node->put_saga(*order);
//   auto id = node->start_saga("order", R"({"customer":"c-7","amount":42})");
//
// Command bodies are templates over the saga's data, a JSON object: `{{name}}` is replaced by the
// JSON text of the field `name` (a string keeps its quotes), `{{saga_id}}` by the instance id as
// a JSON string. A step's success reply, if it is a JSON object, is merged into the data, so
// later steps and compensations can use what earlier steps produced (the order id above).
#pragma once

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailroom {

/// Attributes of saga commands and replies (a service written without this header can speak
/// the protocol too: copy the command's attributes, add saga-outcome, send to saga-reply-to).
namespace saga_attribute {
inline constexpr std::string_view id = "saga-id";
inline constexpr std::string_view step = "saga-step";
inline constexpr std::string_view action = "saga-action"; ///< do | undo | resume
inline constexpr std::string_view attempt = "saga-attempt";
inline constexpr std::string_view reply_to = "saga-reply-to";
inline constexpr std::string_view outcome = "saga-outcome"; ///< ok | failed | rejected
} // namespace saga_attribute

/// Attempts and backoff (exponential with equal jitter) of a step or a compensation.
struct saga_retry {
  uint32_t max_attempts = 3;
  int64_t base_ms = 1'000;
  double factor = 2.0;
  int64_t cap_ms = 60'000;

  friend bool operator==(const saga_retry&, const saga_retry&) = default;
};

struct saga_step {
  std::string name;
  std::string queue;              ///< where the step's command is sent (the service's queue)
  std::string command;            ///< body template over the saga data
  std::string compensation;       ///< body template; empty: the step has nothing to undo
  std::string compensation_queue; ///< empty: the step's queue
  int64_t timeout_ms = 30'000;    ///< no reply by then counts as a failed attempt
  saga_retry retry;
  /// Compensations are their own failure domain: retried longer; one that still fails parks
  /// the saga.
  saga_retry compensation_retry{5, 1'000, 2.0, 60'000};

  const std::string& undo_queue() const {
    return compensation_queue.empty() ? queue : compensation_queue;
  }
  friend bool operator==(const saga_step&, const saga_step&) = default;
};

struct saga_definition {
  std::string name;
  /// Definitions are versioned: starting uses the newest version; a running instance keeps the
  /// version it started with. A version, once stored, cannot change.
  uint32_t version = 1;
  std::vector<saga_step> steps;
  /// A parked saga publishes an alert here (and logs it); empty: logged only.
  std::string alarm_topic;

  friend bool operator==(const saga_definition&, const saga_definition&) = default;
};

/// Checks the name, version, steps (names unique, queues named, templates well formed,
/// timeouts and retries in range); the error names the saga and the step.
caf::error validate(const saga_definition& definition);

/// The queue a definition's replies and resumes arrive on, and its dead-letter sink.
std::string saga_inbox(const std::string& definition);
std::string saga_dead_letter_sink(const std::string& definition);

/// Fluent construction of a saga_definition; build() validates it.
class saga_builder {
public:
  saga_builder(std::string name, uint32_t version = 1);
  /// Starts a step; the calls after it configure that step.
  saga_builder& step(std::string name);
  saga_builder& to(std::string queue);
  saga_builder& command(std::string body_template);
  saga_builder& compensation(std::string body_template, std::string queue = {});
  saga_builder& timeout(std::chrono::milliseconds timeout);
  saga_builder& retry(saga_retry policy);
  saga_builder& compensation_retry(saga_retry policy);
  saga_builder& alarm_topic(std::string topic);
  caf::expected<saga_definition> build() const;

private:
  saga_step& current();
  saga_definition definition_;
  std::string misuse_; // a step setting called before step(): reported by build()
};

enum class saga_status : uint8_t { running, completed, compensating, compensated, parked };

/// RUNNING, COMPLETED, COMPENSATING, COMPENSATED, PARKED.
std::string_view to_string(saga_status status);
std::optional<saga_status> parse_saga_status(std::string_view text);
inline bool finished(saga_status s) {
  return s == saga_status::completed || s == saga_status::compensated;
}

/// One command sent for a step or compensation and what became of it.
struct saga_attempt {
  uint32_t number = 0; ///< 1, 2, ... per step and direction, across resumes
  int64_t sent_at_ms = 0;
  int64_t ended_at_ms = 0; ///< 0: waiting for its reply
  /// "" (waiting) | ok | failed | rejected | timed_out | abandoned (the saga moved on)
  std::string outcome;
  std::string error;
  std::string command_id; ///< the command message (`mailroom trace` follows it)
  std::string reply_id;

  friend bool operator==(const saga_attempt&, const saga_attempt&) = default;
};

/// A step run forward or compensated, in the order they happened.
struct saga_activity {
  uint32_t step = 0; ///< index into the definition's steps
  bool compensation = false;
  std::vector<saga_attempt> attempts;
  int64_t retry_at_ms = 0; ///< the next attempt is due then (0: none scheduled)

  friend bool operator==(const saga_activity&, const saga_activity&) = default;
};

/// A saga instance as journaled, and as `mailroom saga show` prints it.
struct saga_instance {
  std::string id;
  uint64_t seq = 0; ///< the node's start order (the journal's row key)
  std::string definition;
  uint32_t version = 0;
  std::string idempotency_key;
  saga_status status = saga_status::running;
  std::string data;             ///< JSON object: the start data merged with the steps' results
  uint32_t completed_steps = 0; ///< steps 0 .. completed_steps-1 succeeded
  bool cancelled = false;
  std::string error; ///< why it compensates or parked
  int64_t started_at_ms = 0;
  int64_t updated_at_ms = 0;
  std::vector<saga_activity> timeline;

  friend bool operator==(const saga_instance&, const saga_instance&) = default;
};

/// A line of `mailroom saga ls`.
struct saga_summary {
  std::string id;
  std::string definition;
  uint32_t version = 0;
  saga_status status = saga_status::running;
  int64_t started_at_ms = 0;
  int64_t updated_at_ms = 0;
  std::string current_step; ///< the step running or compensating; empty when finished
};

struct saga_filter {
  std::optional<saga_status> status;
  std::string definition; ///< empty: every definition
  uint32_t max = 100;
};

/// Counters since the node started, and instances by state now.
struct saga_metrics {
  uint64_t running = 0;
  uint64_t compensating = 0;
  uint64_t parked = 0;
  uint64_t started = 0;
  uint64_t completed = 0;
  uint64_t compensated = 0;
  uint64_t compensations_sent = 0;
  uint64_t step_replies = 0;
  double step_latency_p50_ms = 0; ///< command sent to reply handled, over recent replies
  double step_latency_p99_ms = 0;
};

} // namespace mailroom

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mailroom::saga_definition)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mailroom::saga_instance)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mailroom::saga_metrics)
