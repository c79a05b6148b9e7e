// Sagas on a real node (actors, journal, queues) with participants as services, on a virtual
// clock: completion, compensation order, parking and redrive, cancellation, idempotent start,
// version pinning, resuming after a reopen.
#include "mailroom/saga.hpp"
#include "node_fixture.hpp"

#include <mutex>

namespace mailroom::test {
namespace {

/// A participant that records what it was asked and answers by a rule.
struct recorder {
  std::mutex mutex;
  std::vector<std::string> log; // "Step:do" / "Step:undo"
  std::function<step_result(const saga_command&)> rule = [](const saga_command&) {
    return step_result::ok();
  };

  participant_fn handler() {
    return [this](const saga_command& c) {
      std::lock_guard<std::mutex> guard{mutex};
      log.push_back(c.step + (c.compensation ? ":undo" : ":do"));
      return rule(c);
    };
  }
  std::vector<std::string> calls() {
    std::lock_guard<std::mutex> guard{mutex};
    return log;
  }
};

class saga_test : public node_test {
protected:
  // The participants run until the node stops; `services` must outlive them.
  ~saga_test() override { node_.reset(); }

  void SetUp() override { start(); }

  void start() {
    open({config("orders"), config("inventory"), config("payments")});
    ASSERT_FALSE(node_->put_saga(definition(1)));
    for (const auto& q : {"orders", "inventory", "payments"})
      ASSERT_TRUE(spawn_saga_participant(*node_, {q, 64}, services.handler()));
  }

  static saga_definition definition(uint32_t version) {
    auto d = saga_builder{"order", version}
                 .step("CreateOrder")
                 .to("orders")
                 .command(R"({"customer":{{customer}}})")
                 .compensation(R"({"cancel":{{order_id}}})")
                 .step("ReserveInventory")
                 .to("inventory")
                 .command(R"({"reserve":{{order_id}}})")
                 .compensation(R"({"release":{{order_id}}})")
                 .compensation_retry({2, 1'000, 2.0, 10'000})
                 .step("ProcessPayment")
                 .to("payments")
                 .command(R"({"charge":{{amount}}})")
                 .build();
    return *d;
  }

  saga_status status_of(const std::string& id) {
    auto s = node_->saga(id);
    return s ? s->status : saga_status::running;
  }

  bool reaches(const std::string& id, saga_status want) {
    return eventually([&] { return status_of(id) == want; });
  }

  std::string describe(const std::string& id) {
    auto s = node_->saga(id);
    if (!s)
      return "no saga";
    std::string out = std::string{to_string(s->status)} + " " + s->error + "\n";
    for (const auto& a : s->timeline) {
      out += std::to_string(a.step) + (a.compensation ? " undo" : " do") + " retry_at " +
             std::to_string(a.retry_at_ms) + "\n";
      for (const auto& t : a.attempts)
        out += "  #" + std::to_string(t.number) + " " + t.outcome + " " + t.error + "\n";
    }
    return out;
  }

  recorder services;
  const std::string data = R"({"customer":"c-1","amount":10})";
};

step_result create_then_succeed(const saga_command& c) {
  if (c.step == "CreateOrder" && !c.compensation)
    return step_result::ok(R"({"order_id":"o-1"})");
  return step_result::ok();
}

TEST_F(saga_test, a_commands_message_id_is_journaled_with_the_transition_that_sends_it) {
  // A step nobody serves: the saga waits, and its row already names the command in the queue.
  queue_config q;
  q.name = "unserved";
  ASSERT_FALSE(node_->create_queue(q));
  auto audit = saga_builder{"audit", 1}.step("Record").to("unserved").command("{}").build();
  ASSERT_TRUE(audit) << message_of(audit.error());
  ASSERT_FALSE(node_->put_saga(*audit));
  auto id = node_->start_saga("audit", "{}");
  ASSERT_TRUE(id) << message_of(id.error());
  auto s = node_->saga(*id);
  ASSERT_TRUE(s);
  ASSERT_EQ(s->timeline.size(), 1u);
  ASSERT_EQ(s->timeline[0].attempts.size(), 1u);
  const auto& command_id = s->timeline[0].attempts[0].command_id;
  EXPECT_EQ(command_id.size(), 36u);
  std::vector<delivery> got;
  ASSERT_TRUE(eventually([&] {
    auto r = node_->receive("unserved", {1, 0, -1});
    if (r && !r->empty())
      got = *r;
    return !got.empty();
  }));
  EXPECT_EQ(got[0].message->id, command_id);
  EXPECT_EQ(got[0].message->dedup_id, *id + "/Record/do/1");
}

TEST_F(saga_test, a_saga_runs_its_steps_and_completes) {
  services.rule = create_then_succeed;
  auto id = node_->start_saga("order", data);
  ASSERT_TRUE(id) << message_of(id.error());
  ASSERT_TRUE(reaches(*id, saga_status::completed));
  EXPECT_EQ(services.calls(), (std::vector<std::string>{"CreateOrder:do", "ReserveInventory:do",
                                                        "ProcessPayment:do"}));
  auto s = node_->saga(*id);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->version, 1u);
  EXPECT_NE(s->data.find(R"("order_id":"o-1")"), std::string::npos);
  for (const auto& a : s->timeline) {
    ASSERT_EQ(a.attempts.size(), 1u);
    EXPECT_FALSE(a.attempts[0].command_id.empty()); // what `mailroom trace` follows
    EXPECT_FALSE(a.attempts[0].reply_id.empty());
  }
  // The manager counts once the instance reports, just after the journal has it.
  ASSERT_TRUE(eventually([&] { return node_->saga_statistics("order")->completed == 1; }));
  EXPECT_EQ(node_->saga_statistics("order")->step_replies, 3u);
  auto listed = node_->sagas({saga_status::completed, "order", 10});
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].id, *id);
}

TEST_F(saga_test, a_declined_payment_compensates_inventory_then_the_order) {
  services.rule = [](const saga_command& c) {
    if (c.step == "ProcessPayment")
      return step_result::reject("card declined");
    return create_then_succeed(c);
  };
  auto id = node_->start_saga("order", data);
  ASSERT_TRUE(id);
  ASSERT_TRUE(reaches(*id, saga_status::compensated));
  EXPECT_EQ(services.calls(),
            (std::vector<std::string>{"CreateOrder:do", "ReserveInventory:do", "ProcessPayment:do",
                                      "ReserveInventory:undo", "CreateOrder:undo"}));
  auto s = node_->saga(*id);
  EXPECT_NE(s->error.find("card declined"), std::string::npos);
}

TEST_F(saga_test, a_failing_compensation_parks_the_saga_and_a_redrive_resumes_it) {
  std::atomic<bool> warehouse_up{false};
  services.rule = [&](const saga_command& c) {
    if (c.step == "ProcessPayment")
      return step_result::reject("card declined");
    if (c.step == "ReserveInventory" && c.compensation && !warehouse_up)
      return step_result::fail("warehouse offline");
    return create_then_succeed(c);
  };
  auto id = node_->start_saga("order", data);
  ASSERT_TRUE(id);
  ASSERT_TRUE(eventually([&] {
    auto s = node_->saga(*id);
    return s && s->timeline.size() == 4 && s->timeline[3].retry_at_ms != 0;
  })) << describe(*id);
  advance(2'000); // the compensation's retry: fails again, the saga parks
  ASSERT_TRUE(reaches(*id, saga_status::parked)) << describe(*id);
  auto dead = node_->dead_letters("saga.order.dead", 10);
  ASSERT_TRUE(dead);
  ASSERT_TRUE(eventually([&] { return node_->dead_letters("saga.order.dead", 10)->size() == 1; }));
  dead = node_->dead_letters("saga.order.dead", 10);
  EXPECT_EQ((*dead)[0].death.reason, "compensation_failed");
  EXPECT_EQ((*dead)[0].death.error, "warehouse offline");
  ASSERT_TRUE(eventually([&] { return node_->saga_statistics("order")->parked == 1; }));

  warehouse_up = true;
  auto moved = node_->redrive("saga.order.dead", {});
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->moved, 1u);
  ASSERT_TRUE(reaches(*id, saga_status::compensated));
  auto calls = services.calls();
  EXPECT_EQ(std::count(calls.begin(), calls.end(), "ReserveInventory:undo"), 3);
  EXPECT_EQ(calls.back(), "CreateOrder:undo");
}

TEST_F(saga_test, a_timed_out_step_is_retried) {
  std::atomic<int> seen{0};
  services.rule = [&](const saga_command& c) {
    // Attempt 1 never gets a reply (its queue keeps retrying it); attempt 2 succeeds.
    if (c.step == "ReserveInventory" && c.attempt == 1 && ++seen > 0)
      throw std::runtime_error("lost");
    return create_then_succeed(c);
  };
  auto id = node_->start_saga("order", data);
  ASSERT_TRUE(id);
  ASSERT_TRUE(eventually([&] { return seen.load() >= 1; }));
  advance(30'000); // the step timeout
  ASSERT_TRUE(eventually([&] {
    auto s = node_->saga(*id);
    return s && s->timeline.size() >= 2 && s->timeline[1].retry_at_ms != 0;
  })) << describe(*id);
  EXPECT_EQ(node_->saga(*id)->timeline[1].attempts[0].outcome, "timed_out");
  advance(5'000); // the retry's backoff
  ASSERT_TRUE(reaches(*id, saga_status::completed)) << describe(*id);
  EXPECT_EQ(node_->saga(*id)->timeline[1].attempts.size(), 2u);
}

TEST_F(saga_test, starting_twice_with_one_idempotency_key_gives_one_instance) {
  services.rule = create_then_succeed;
  auto a = node_->start_saga("order", data, "order-77");
  auto b = node_->start_saga("order", data, "order-77");
  ASSERT_TRUE(a);
  ASSERT_TRUE(b);
  EXPECT_EQ(*a, *b);
  ASSERT_TRUE(reaches(*a, saga_status::completed));
  auto c = node_->start_saga("order", data, "order-77");
  EXPECT_EQ(*c, *a);
  EXPECT_NE(*node_->start_saga("order", data, "order-78"), *a);
  EXPECT_EQ(node_->saga_statistics("order")->started, 2u);
}

TEST_F(saga_test, concurrent_starts_with_one_key_give_one_instance) {
  services.rule = create_then_succeed;
  std::vector<std::string> ids(8);
  std::vector<std::thread> starters;
  for (size_t i = 0; i < ids.size(); ++i)
    starters.emplace_back([&, i] {
      auto id = node_->start_saga("order", data, "order-race");
      ids[i] = id ? *id : message_of(id.error());
    });
  for (auto& t : starters)
    t.join();
  for (const auto& id : ids)
    EXPECT_EQ(id, ids[0]);
  ASSERT_TRUE(reaches(ids[0], saga_status::completed));
  EXPECT_EQ(node_->saga_statistics("order")->started, 1u);
}

TEST_F(saga_test, cancelling_a_running_saga_compensates_it) {
  std::atomic<bool> hold{true};
  services.rule = [&](const saga_command& c) {
    if (c.step == "ReserveInventory" && !c.compensation && hold)
      return step_result::fail("not yet");
    return create_then_succeed(c);
  };
  auto id = node_->start_saga("order", data);
  ASSERT_TRUE(id);
  ASSERT_TRUE(eventually([&] {
    auto s = node_->saga(*id);
    return s && s->timeline.size() == 2 && s->timeline[1].retry_at_ms != 0;
  }));
  ASSERT_FALSE(node_->cancel_saga(*id));
  ASSERT_TRUE(reaches(*id, saga_status::compensated));
  EXPECT_EQ(services.calls().back(), "CreateOrder:undo");
  EXPECT_EQ(node_->saga(*id)->error, "cancelled");
  auto again = node_->cancel_saga(*id);
  ASSERT_TRUE(again);
  EXPECT_NE(message_of(again).find("COMPENSATED"), std::string::npos);
  EXPECT_EQ(code_of(node_->cancel_saga("nope")), errc::not_found);
}

TEST_F(saga_test, a_running_instance_keeps_its_version) {
  std::atomic<bool> hold{true};
  services.rule = [&](const saga_command& c) {
    if (c.step == "ProcessPayment" && hold)
      throw std::runtime_error("later");
    return create_then_succeed(c);
  };
  auto old_id = node_->start_saga("order", data);
  ASSERT_TRUE(old_id);
  ASSERT_TRUE(eventually([&] { return node_->saga(*old_id)->timeline.size() == 3; }));
  // Version 2 drops the payment step.
  auto v2 = definition(2);
  v2.steps.pop_back();
  ASSERT_FALSE(node_->put_saga(v2));
  auto changed = definition(1);
  changed.steps.pop_back();
  EXPECT_EQ(code_of(node_->put_saga(changed)), errc::already_exists);
  auto new_id = node_->start_saga("order", data);
  ASSERT_TRUE(reaches(*new_id, saga_status::completed));
  EXPECT_EQ(node_->saga(*new_id)->timeline.size(), 2u);
  EXPECT_EQ(node_->saga(*new_id)->version, 2u);
  hold = false;
  advance(60'000); // the held payment: redelivered by its queue, or retried by the saga
  ASSERT_TRUE(reaches(*old_id, saga_status::completed));
  EXPECT_EQ(node_->saga(*old_id)->version, 1u);
  EXPECT_EQ(node_->saga(*old_id)->timeline.size(), 3u);
}

TEST_F(saga_test, an_unfinished_saga_resumes_after_the_node_reopens) {
  std::atomic<bool> hold{true};
  services.rule = [&](const saga_command& c) {
    if (c.step == "ReserveInventory" && hold)
      throw std::runtime_error("later");
    return create_then_succeed(c);
  };
  auto id = node_->start_saga("order", data);
  ASSERT_TRUE(id);
  ASSERT_TRUE(eventually([&] { return node_->saga(*id)->timeline.size() == 2; }));
  hold = false;
  node_.reset();
  start();
  EXPECT_EQ(status_of(*id), saga_status::running);
  advance(40'000); // the inventory command's lease ends: redelivered, answered
  ASSERT_TRUE(reaches(*id, saga_status::completed));
  auto s = node_->saga(*id);
  EXPECT_EQ(s->timeline[1].attempts.size(), 1u); // sent again after the reopen, same attempt
}

TEST_F(saga_test, a_command_its_queue_refuses_fails_only_its_own_step) {
  services.rule = create_then_succeed;
  auto small = config("payments");
  small.max_message_bytes = 300;
  ASSERT_FALSE(node_->put_queue(small));
  std::string big(400, 'x');
  // Started together, so their payment commands are likely sent in one batch, whose messages
  // the queue takes or refuses each on its own.
  auto ids =
      node_->start_sagas("order", {data, data, R"({"customer":"c-2","amount":")" + big + "\"}"});
  ASSERT_TRUE(ids) << message_of(ids.error());
  ASSERT_TRUE(reaches((*ids)[0], saga_status::completed));
  ASSERT_TRUE(reaches((*ids)[1], saga_status::completed));
  ASSERT_TRUE(eventually([&] {
    auto s = node_->saga((*ids)[2]);
    return s && s->timeline.size() == 3 && !s->timeline[2].attempts.empty() &&
           s->timeline[2].attempts[0].outcome == "failed";
  })) << describe((*ids)[2]);
  EXPECT_NE(node_->saga((*ids)[2])->timeline[2].attempts[0].error.find("exceeds the limit"),
            std::string::npos);
}

TEST_F(saga_test, bad_input_is_refused_with_a_reason) {
  auto no_def = node_->start_saga("nope", "{}");
  ASSERT_FALSE(no_def);
  EXPECT_EQ(code_of(no_def.error()), errc::not_found);
  auto not_object = node_->start_saga("order", "[1,2]");
  ASSERT_FALSE(not_object);
  EXPECT_NE(message_of(not_object.error()).find("JSON object"), std::string::npos);
  // A bad element of a bulk start starts none of them.
  auto bulk = node_->start_sagas("order", {data, "nope"});
  ASSERT_FALSE(bulk);
  EXPECT_NE(message_of(bulk.error()).find("start data 1 must be a JSON object"), std::string::npos);
  EXPECT_EQ(node_->saga_statistics("order")->started, 0u);
  EXPECT_FALSE(node_->saga("missing"));
  auto d = definition(3);
  d.alarm_topic = "no-such-topic";
  auto err = node_->put_saga(d);
  ASSERT_TRUE(err);
  EXPECT_NE(message_of(err).find("no-such-topic"), std::string::npos);
}

} // namespace
} // namespace mailroom::test
