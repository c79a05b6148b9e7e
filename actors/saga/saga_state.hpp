// One saga instance's rules, on virtual time: which command to send next, what a reply or a
// timeout does, when compensations run and when the saga parks. No I/O: every input returns the
// effects for the actor to carry out (journal the instance, then send the commands).
//
// Life of an instance:
//   RUNNING       step 0, 1, ... each sent as a command; a success reply moves on, a failure or
//                 timeout retries the step per its policy; all done: COMPLETED.
//   COMPENSATING  a step failed for good (or the saga was cancelled): the compensations of the
//                 completed steps are sent one at a time, newest first, each retried per its
//                 own policy; all done: COMPENSATED.
//   PARKED        a compensation failed for good. The instance waits; resume() (a redrive of its
//                 dead-letter record) sends that compensation again and carries on.
//
// Each command's dedup id is (saga id, step, direction, attempt), so a command sent again after
// a crash is the same message to the queue and to an exactly-once service.
#pragma once

#include "mailroom/saga_types.hpp"
#include "mailroom/types.hpp"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

namespace mailroom {

/// A service's answer to a command, as read from the reply message's attributes.
struct saga_reply {
  enum class result : uint8_t { ok, failed, rejected };
  std::string saga_id;
  std::string step;
  bool compensation = false;
  uint32_t attempt = 0;
  result what = result::ok;
  std::string
      body; ///< ok: a JSON object merged into the data (or anything, ignored); else the error
  std::string reply_id;
  bool resume = false; ///< not a reply: a redriven dead-letter record asking to resume
};

class saga_state {
public:
  /// A command to send once the instance is journaled.
  struct command {
    std::string queue;
    outgoing_message message;
    size_t activity = 0; ///< where its message id is recorded (see command_sent)
    size_t attempt = 0;
  };
  struct effects {
    std::vector<command> sends;
    bool changed = false;         ///< the instance must be journaled
    bool parked = false;          ///< just parked: dead-letter the step, raise the alarm
    std::string ignored;          ///< input that changed nothing, and why (for the log)
    int64_t step_latency_ms = -1; ///< a command just succeeded this long after it was sent
  };

  /// A new instance; call begin() to send its first command.
  saga_state(std::shared_ptr<const saga_definition> definition, std::string id, uint64_t seq,
             nlohmann::json data, std::string idempotency_key, int64_t now_ms);
  /// An instance read back from the journal; call recover().
  saga_state(std::shared_ptr<const saga_definition> definition, saga_instance journaled);

  effects begin(int64_t now_ms);
  /// After a restart: sends the command still waiting for its reply again (same dedup id).
  effects recover(int64_t now_ms);
  effects on_reply(const saga_reply& reply, int64_t now_ms);
  /// A step timeout or a retry that is due.
  effects on_timer(int64_t now_ms);
  /// A sending failure (the queue refused or is missing): a failed attempt.
  effects send_failed(size_t activity, size_t attempt, const std::string& error, int64_t now_ms);
  /// Cancelling a running saga compensates it (after the step in flight settles). Finished
  /// sagas refuse; compensating or parked ones are compensating already.
  caf::expected<effects> cancel(int64_t now_ms);
  /// Resumes a parked saga's compensation where it stopped. Others refuse.
  caf::expected<effects> resume(int64_t now_ms);
  /// Records the message id the target queue answered for a command when it is not the one the
  /// command was sent with (the queue knew its dedup id already: a re-send after a restart).
  void command_sent(size_t activity, size_t attempt, const std::string& message_id);

  /// When on_timer must run next; 0: nothing scheduled.
  int64_t wake_at() const;
  /// The instance as it is to be journaled (data rendered as JSON text).
  const saga_instance& instance();
  const saga_definition& definition() const { return *definition_; }
  saga_status status() const { return instance_.status; }
  const std::string& id() const { return instance_.id; }
  const std::string& idempotency_key() const { return instance_.idempotency_key; }
  /// The attempt that made the saga park (for its dead-letter record).
  const saga_attempt* parked_attempt() const;

private:
  const saga_step& step_of(const saga_activity& a) const { return definition_->steps[a.step]; }
  void begin_activity(uint32_t step, bool compensation, int64_t now, effects& out);
  void send_attempt(int64_t now, effects& out);
  void attempt_failed(saga_attempt& attempt, std::string outcome, std::string error, bool retryable,
                      int64_t now, effects& out);
  void failed_for_good(const std::string& error, int64_t now, effects& out);
  void start_compensation(int64_t now, effects& out);
  void step_succeeded(const saga_reply& reply, int64_t now, effects& out);
  caf::expected<command> command_for_last_attempt() const;
  uint32_t attempts_so_far(uint32_t step, bool compensation) const;

  std::shared_ptr<const saga_definition> definition_;
  saga_instance instance_; // data is kept parsed in data_ and rendered by instance()
  nlohmann::json data_;
  std::string data_text_; ///< data_ rendered; empty: to be rendered again
};

/// Reads the saga attributes of a reply or resume message; nullopt if it is neither.
std::optional<saga_reply> read_saga_reply(const envelope& message);

} // namespace mailroom
