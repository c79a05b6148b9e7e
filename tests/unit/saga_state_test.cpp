// Every transition of one saga instance, on virtual time (no actors, no journal).
#include "saga/saga_state.hpp"
#include "saga_template.hpp"
#include "mailroom/error.hpp"
#include "mailroom/saga.hpp"

#include <gtest/gtest.h>

namespace mailroom {
namespace {

constexpr int64_t t0 = 1'700'000'000'000;

std::shared_ptr<const saga_definition> order_saga() {
  auto d = saga_builder{"order", 1}
               .step("CreateOrder")
               .to("orders")
               .command(R"({"type":"CreateOrder","customer":{{customer}}})")
               .compensation(R"({"type":"CancelOrder","order":{{order_id}}})")
               .timeout(std::chrono::seconds(5))
               .retry({3, 1'000, 2.0, 10'000})
               .compensation_retry({2, 1'000, 2.0, 10'000})
               .step("ReserveInventory")
               .to("inventory")
               .command(R"({"type":"Reserve","order":{{order_id}}})")
               .compensation(R"({"type":"Release","order":{{order_id}}})", "inventory-undo")
               .compensation_retry({2, 1'000, 2.0, 10'000})
               .step("ProcessPayment")
               .to("payments")
               .command(R"({"type":"Charge","order":{{order_id}},"amount":{{amount}}})")
               .build();
  EXPECT_TRUE(d) << message_of(d.error());
  return std::make_shared<const saga_definition>(*d);
}

saga_reply reply(const std::string& step, uint32_t attempt, saga_reply::result what,
                 std::string body = {}, bool compensation = false) {
  return {"s-1", step, compensation, attempt, what, std::move(body), "r-" + step, false};
}

std::string attr(const outgoing_message& m, std::string_view key) {
  for (const auto& a : m.attributes)
    if (a.key == key)
      return a.value;
  return {};
}

class saga_state_test : public ::testing::Test {
protected:
  saga_state s{order_saga(), "s-1", 1, nlohmann::json{{"customer", "c-7"}, {"amount", 42}}, "", t0};

  /// Runs the saga through its first two steps.
  void two_steps_done() {
    s.begin(t0);
    s.on_reply(reply("CreateOrder", 1, saga_reply::result::ok, R"({"order_id":"o-1"})"), t0 + 10);
    s.on_reply(reply("ReserveInventory", 1, saga_reply::result::ok), t0 + 20);
  }
};

TEST_F(saga_state_test, steps_run_in_order_and_their_results_feed_later_commands) {
  auto fx = s.begin(t0);
  ASSERT_EQ(fx.sends.size(), 1u);
  EXPECT_TRUE(fx.changed);
  auto& first = fx.sends[0];
  EXPECT_EQ(first.queue, "orders");
  EXPECT_EQ(first.message.body, R"({"type":"CreateOrder","customer":"c-7"})");
  EXPECT_EQ(first.message.dedup_id, "s-1/CreateOrder/do/1");
  EXPECT_EQ(first.message.correlation_id, "s-1");
  EXPECT_EQ(attr(first.message, saga_attribute::reply_to), "saga.order");
  EXPECT_EQ(attr(first.message, saga_attribute::action), "do");
  EXPECT_EQ(s.wake_at(), t0 + 5'000); // the step timeout

  fx =
      s.on_reply(reply("CreateOrder", 1, saga_reply::result::ok, R"({"order_id":"o-1"})"), t0 + 10);
  ASSERT_EQ(fx.sends.size(), 1u);
  EXPECT_EQ(fx.step_latency_ms, 10);
  EXPECT_EQ(fx.sends[0].queue, "inventory");
  EXPECT_EQ(fx.sends[0].message.body, R"({"type":"Reserve","order":"o-1"})");
  fx = s.on_reply(reply("ReserveInventory", 1, saga_reply::result::ok), t0 + 20);
  ASSERT_EQ(fx.sends.size(), 1u);
  EXPECT_EQ(fx.sends[0].message.body, R"({"type":"Charge","order":"o-1","amount":42})");
  fx = s.on_reply(reply("ProcessPayment", 1, saga_reply::result::ok), t0 + 30);
  EXPECT_TRUE(fx.sends.empty());
  EXPECT_EQ(s.status(), saga_status::completed);
  EXPECT_EQ(s.wake_at(), 0);
  EXPECT_EQ(s.instance().completed_steps, 3u);
  EXPECT_EQ(s.instance().timeline.size(), 3u);
}

TEST_F(saga_state_test, a_failed_step_is_retried_with_backoff_under_a_new_dedup_id) {
  s.begin(t0);
  auto fx = s.on_reply(reply("CreateOrder", 1, saga_reply::result::failed, "db down"), t0 + 10);
  EXPECT_TRUE(fx.sends.empty());
  auto due = s.wake_at();
  EXPECT_GE(due, t0 + 10 + 500); // equal jitter: between half and all of the base delay
  EXPECT_LE(due, t0 + 10 + 1'000);
  EXPECT_TRUE(s.on_timer(due - 1).sends.empty());
  fx = s.on_timer(due);
  ASSERT_EQ(fx.sends.size(), 1u);
  EXPECT_EQ(fx.sends[0].message.dedup_id, "s-1/CreateOrder/do/2");
  const auto& attempts = s.instance().timeline[0].attempts;
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_EQ(attempts[0].outcome, "failed");
  EXPECT_EQ(attempts[0].error, "db down");
}

TEST_F(saga_state_test, a_timeout_counts_as_a_failed_attempt) {
  s.begin(t0);
  EXPECT_TRUE(s.on_timer(t0 + 4'999).sends.empty());
  auto fx = s.on_timer(t0 + 5'000);
  EXPECT_TRUE(fx.changed);
  EXPECT_EQ(s.instance().timeline[0].attempts[0].outcome, "timed_out");
  EXPECT_GT(s.wake_at(), t0 + 5'000); // the retry
}

TEST_F(saga_state_test, a_late_success_of_a_timed_out_attempt_completes_the_step) {
  s.begin(t0);
  s.on_timer(t0 + 5'000);
  s.on_timer(s.wake_at()); // attempt 2 sent
  auto fx = s.on_reply(reply("CreateOrder", 1, saga_reply::result::ok, R"({"order_id":"o-1"})"),
                       s.wake_at() - 1);
  ASSERT_EQ(fx.sends.size(), 1u);
  EXPECT_EQ(fx.sends[0].queue, "inventory");
  EXPECT_EQ(s.instance().timeline[0].attempts[1].outcome, "abandoned");
}

TEST_F(saga_state_test, a_step_failing_for_good_compensates_completed_steps_newest_first) {
  two_steps_done();
  auto fx = s.on_reply(reply("ProcessPayment", 1, saga_reply::result::rejected, "card declined"),
                       t0 + 30);
  EXPECT_EQ(s.status(), saga_status::compensating);
  EXPECT_NE(s.instance().error.find("card declined"), std::string::npos);
  ASSERT_EQ(fx.sends.size(), 1u);
  EXPECT_EQ(fx.sends[0].queue, "inventory-undo");
  EXPECT_EQ(fx.sends[0].message.body, R"({"type":"Release","order":"o-1"})");
  EXPECT_EQ(fx.sends[0].message.dedup_id, "s-1/ReserveInventory/undo/1");
  fx = s.on_reply(reply("ReserveInventory", 1, saga_reply::result::ok, {}, true), t0 + 40);
  ASSERT_EQ(fx.sends.size(), 1u);
  EXPECT_EQ(fx.sends[0].queue, "orders");
  EXPECT_EQ(fx.sends[0].message.body, R"({"type":"CancelOrder","order":"o-1"})");
  fx = s.on_reply(reply("CreateOrder", 1, saga_reply::result::ok, {}, true), t0 + 50);
  EXPECT_TRUE(fx.sends.empty());
  EXPECT_EQ(s.status(), saga_status::compensated);
}

TEST_F(saga_state_test, retries_run_out_then_compensation_starts) {
  s.begin(t0);
  for (uint32_t attempt = 1; attempt <= 3; ++attempt) {
    s.on_reply(reply("CreateOrder", attempt, saga_reply::result::failed, "boom"), s.wake_at() - 1);
    if (attempt < 3) {
      ASSERT_EQ(s.on_timer(s.wake_at()).sends.size(), 1u);
    }
  }
  // Nothing was completed, so there is nothing to undo.
  EXPECT_EQ(s.status(), saga_status::compensated);
  EXPECT_NE(s.instance().error.find("after 3 attempt(s): boom"), std::string::npos);
}

TEST_F(saga_state_test, a_compensation_failing_for_good_parks_and_a_resume_carries_on) {
  two_steps_done();
  s.on_reply(reply("ProcessPayment", 1, saga_reply::result::rejected, "declined"), t0 + 30);
  s.on_reply(reply("ReserveInventory", 1, saga_reply::result::failed, "warehouse offline", true),
             t0 + 40);
  ASSERT_EQ(s.on_timer(s.wake_at()).sends.size(), 1u);
  auto fx = s.on_reply(
      reply("ReserveInventory", 2, saga_reply::result::failed, "warehouse offline", true),
      s.wake_at() - 1);
  EXPECT_TRUE(fx.parked);
  EXPECT_EQ(s.status(), saga_status::parked);
  EXPECT_EQ(s.wake_at(), 0);
  ASSERT_NE(s.parked_attempt(), nullptr);
  EXPECT_EQ(s.parked_attempt()->number, 2u);
  EXPECT_FALSE(s.cancel(t0 + 100)->changed); // compensating already

  auto resumed = s.resume(t0 + 1'000);
  ASSERT_TRUE(resumed);
  ASSERT_EQ(resumed->sends.size(), 1u);
  // Attempt numbers go on across the resume: the dedup id is new.
  EXPECT_EQ(resumed->sends[0].message.dedup_id, "s-1/ReserveInventory/undo/3");
  EXPECT_EQ(s.status(), saga_status::compensating);
  s.on_reply(reply("ReserveInventory", 3, saga_reply::result::ok, {}, true), t0 + 1'100);
  s.on_reply(reply("CreateOrder", 1, saga_reply::result::ok, {}, true), t0 + 1'200);
  EXPECT_EQ(s.status(), saga_status::compensated);
  EXPECT_FALSE(s.resume(t0 + 1'300));
}

TEST_F(saga_state_test, cancelling_waits_for_the_step_in_flight_then_compensates_it_too) {
  s.begin(t0);
  s.on_reply(reply("CreateOrder", 1, saga_reply::result::ok, R"({"order_id":"o-1"})"), t0 + 10);
  auto fx = s.cancel(t0 + 15);
  ASSERT_TRUE(fx);
  EXPECT_TRUE(fx->sends.empty());
  EXPECT_EQ(s.status(), saga_status::compensating);
  auto after = s.on_reply(reply("ReserveInventory", 1, saga_reply::result::ok), t0 + 20);
  ASSERT_EQ(after.sends.size(), 1u);
  EXPECT_EQ(after.sends[0].message.dedup_id, "s-1/ReserveInventory/undo/1");
  EXPECT_EQ(s.instance().error, "cancelled");
}

TEST_F(saga_state_test, cancelling_during_a_retry_wait_compensates_at_once) {
  s.begin(t0);
  s.on_reply(reply("CreateOrder", 1, saga_reply::result::ok, R"({"order_id":"o-1"})"), t0 + 10);
  s.on_reply(reply("ReserveInventory", 1, saga_reply::result::failed, "busy"), t0 + 20);
  auto fx = s.cancel(t0 + 30);
  ASSERT_TRUE(fx);
  ASSERT_EQ(fx->sends.size(), 1u);
  EXPECT_EQ(fx->sends[0].message.dedup_id, "s-1/CreateOrder/undo/1");
}

TEST_F(saga_state_test, a_finished_saga_cannot_be_cancelled) {
  two_steps_done();
  s.on_reply(reply("ProcessPayment", 1, saga_reply::result::ok), t0 + 30);
  auto fx = s.cancel(t0 + 40);
  ASSERT_FALSE(fx);
  EXPECT_NE(message_of(fx.error()).find("COMPLETED"), std::string::npos);
}

TEST_F(saga_state_test, stale_and_duplicate_replies_change_nothing) {
  s.begin(t0);
  s.on_reply(reply("CreateOrder", 1, saga_reply::result::ok, R"({"order_id":"o-1"})"), t0 + 10);
  auto dup = s.on_reply(reply("CreateOrder", 1, saga_reply::result::ok), t0 + 11);
  EXPECT_FALSE(dup.changed);
  EXPECT_FALSE(dup.ignored.empty());
  auto unsent = s.on_reply(reply("ReserveInventory", 7, saga_reply::result::ok), t0 + 12);
  EXPECT_FALSE(unsent.changed);
  auto wrong_direction =
      s.on_reply(reply("ReserveInventory", 1, saga_reply::result::ok, {}, true), t0 + 13);
  EXPECT_FALSE(wrong_direction.changed);
}

TEST_F(saga_state_test, after_a_restart_the_waiting_command_is_sent_again_under_its_dedup_id) {
  s.begin(t0);
  s.on_reply(reply("CreateOrder", 1, saga_reply::result::ok, R"({"order_id":"o-1"})"), t0 + 10);
  saga_state recovered{order_saga(), s.instance()};
  auto fx = recovered.recover(t0 + 60'000);
  ASSERT_EQ(fx.sends.size(), 1u);
  EXPECT_EQ(fx.sends[0].message.dedup_id, "s-1/ReserveInventory/do/1");
  EXPECT_EQ(fx.sends[0].message.body, R"({"type":"Reserve","order":"o-1"})");
  EXPECT_EQ(recovered.wake_at(), t0 + 60'000 + 30'000); // the timeout restarts
}

TEST_F(saga_state_test, a_template_naming_missing_data_fails_the_step_without_retries) {
  saga_state lacking{order_saga(), "s-2", 2, nlohmann::json::object(), "", t0};
  auto fx = lacking.begin(t0);
  EXPECT_TRUE(fx.sends.empty());
  EXPECT_EQ(lacking.status(), saga_status::compensated);
  EXPECT_NE(lacking.instance().error.find("no field 'customer'"), std::string::npos);
}

TEST(saga_template, renders_fields_as_json_and_checks_syntax) {
  auto data = nlohmann::json::parse(R"({"a":"x","n":3,"o":{"k":[1,2]}})");
  EXPECT_EQ(
      *saga_template::render(R"({"a":{{a}},"n":{{n}},"k":{{o.k}},"id":{{saga_id}}})", data, "s-9"),
      R"({"a":"x","n":3,"k":[1,2],"id":"s-9"})");
  EXPECT_FALSE(saga_template::render("{{missing}}", data, "s"));
  // check() returns the error: none for a good template.
  EXPECT_FALSE(saga_template::check("plain text"));
  EXPECT_TRUE(saga_template::check("{{unclosed"));
  EXPECT_TRUE(saga_template::check("{{bad name}}"));
  EXPECT_TRUE(saga_template::check("{{}}"));
}

TEST(saga_definition, validation_names_the_problem) {
  auto no_queue = saga_builder{"order"}.step("A").command("x").build();
  ASSERT_FALSE(no_queue);
  EXPECT_NE(message_of(no_queue.error()).find("step 'A'"), std::string::npos);
  auto twice =
      saga_builder{"order"}.step("A").to("q").command("x").step("A").to("q").command("y").build();
  ASSERT_FALSE(twice);
  EXPECT_NE(message_of(twice.error()).find("used twice"), std::string::npos);
  EXPECT_FALSE(saga_builder{"order"}.to("q").build());
  EXPECT_FALSE((saga_builder{"order", 0}.step("A").to("q").command("x").build()));
  EXPECT_FALSE(saga_builder{"order"}.step("A").to("q").command("{{oops").build());
  EXPECT_FALSE(saga_builder{"order"}.build());
  EXPECT_EQ(parse_saga_status("parked"), saga_status::parked);
  EXPECT_FALSE(parse_saga_status("DONE"));
}

TEST(saga_reply_parsing, reads_replies_and_resume_records) {
  envelope m;
  m.id = "r-1";
  m.body = "{}";
  m.attributes = {{"saga-id", "s-1"},
                  {"saga-step", "A"},
                  {"saga-action", "undo"},
                  {"saga-attempt", "2"},
                  {"saga-outcome", "rejected"}};
  auto r = read_saga_reply(m);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->compensation);
  EXPECT_EQ(r->attempt, 2u);
  EXPECT_EQ(r->what, saga_reply::result::rejected);
  m.attributes[4].value = "maybe";
  EXPECT_FALSE(read_saga_reply(m));
  m.attributes = {{"saga-id", "s-1"}, {"saga-action", "resume"}};
  auto resume = read_saga_reply(m);
  ASSERT_TRUE(resume);
  EXPECT_TRUE(resume->resume);
  m.attributes.clear();
  EXPECT_FALSE(read_saga_reply(m));
}

} // namespace
} // namespace mailroom
