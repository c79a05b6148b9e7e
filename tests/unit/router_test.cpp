// Content-based routers: rules on virtual state (router_state), loops, and on a real node
// (targets, the unroutable sink, recovery).
#include "router/router_state.hpp"
#include "mailroom/config.hpp"
#include "mailroom/error.hpp"
#include "node_fixture.hpp"

#include <gtest/gtest.h>

using namespace mailroom;

namespace {

outgoing_message typed(std::string type, std::string body = "x") {
  outgoing_message m;
  m.body = std::move(body);
  m.attributes = {{"type", std::move(type)}};
  return m;
}

route_target to(const std::string& text) {
  return *route_target::parse(text);
}

router_config by_type(bool all_match = false) {
  return {"by-type",
          {{R"({"type": ["order"]})", false, to("queue:orders")},
           {R"({"type": ["order", "refund"]})", false, to("queue:audit")}},
          all_match,
          std::nullopt,
          ""};
}

} // namespace

TEST(router_state, the_first_matching_rule_wins_and_unmatched_messages_are_unroutable) {
  auto r = router_state::make(by_type());
  ASSERT_TRUE(r) << message_of(r.error());
  auto plan = r->route({typed("order"), typed("refund"), typed("spam")});
  EXPECT_EQ(plan.by_target.at("queue:orders").second.size(), 1u);
  EXPECT_EQ(plan.by_target.at("queue:audit").second.size(), 1u);
  ASSERT_EQ(plan.unroutable.size(), 1u);
  EXPECT_EQ(plan.unroutable[0].attributes[0].value, "spam");
  EXPECT_EQ(plan.routed, 2u);
  EXPECT_EQ(r->dead_letter_target(), "by-type-unroutable");
}

TEST(router_state, all_match_sends_to_every_matching_rule_and_a_default_takes_the_rest) {
  auto c = by_type(/*all_match=*/true);
  c.fallback = to("topic:misc");
  auto r = router_state::make(c);
  ASSERT_TRUE(r);
  auto named = typed("order");
  named.id = "given-by-the-sender";
  auto plan = r->route({named, typed("spam")});
  EXPECT_EQ(plan.by_target.at("queue:orders").second.size(), 1u);
  EXPECT_EQ(plan.by_target.at("queue:audit").second.size(), 1u);
  EXPECT_EQ(plan.by_target.at("topic:misc").second.size(), 1u);
  EXPECT_TRUE(plan.unroutable.empty());
  EXPECT_EQ(plan.copies, 3u);
  // Two copies of one message: neither may claim the sender's id, their queues name them.
  EXPECT_TRUE(plan.by_target.at("queue:orders").second[0].id.empty());
  EXPECT_TRUE(plan.by_target.at("queue:audit").second[0].id.empty());
}

TEST(router_state, body_rules_route_by_a_json_field_like_the_reference_router) {
  router_config c{"by-body",
                  {{R"({"type": ["payment"]})", true, to("queue:payments")}},
                  false,
                  std::nullopt,
                  ""};
  auto r = router_state::make(c);
  ASSERT_TRUE(r);
  outgoing_message m;
  m.body = R"({"type": "payment", "amount": 5})";
  auto plan = r->route({m});
  EXPECT_EQ(plan.by_target.at("queue:payments").second.size(), 1u);
}

TEST(router_state, bad_routers_and_loops_are_refused_naming_the_problem) {
  EXPECT_FALSE(route_target::parse("bucket:x"));
  EXPECT_NE(message_of(route_target::parse("bucket:x").error()).find("queue:NAME"),
            std::string::npos);
  auto bad_rule = by_type();
  bad_rule.rules[1].match = "{";
  EXPECT_NE(message_of(validate(bad_rule)).find("rule 2"), std::string::npos);
  router_config empty{"e", {}, false, std::nullopt, ""};
  EXPECT_NE(message_of(validate(empty)).find("at least one rule"), std::string::npos);
  router_config a{"a", {{R"({"k": ["v"]})", false, to("router:b")}}, false, std::nullopt, ""};
  router_config b{"b", {{R"({"k": ["v"]})", false, to("queue:q")}}, false, to("router:a"), ""};
  auto loop = check_for_loops({a, b});
  ASSERT_TRUE(loop);
  EXPECT_NE(message_of(loop).find("router 'a' → router 'b' → router 'a'"), std::string::npos)
      << message_of(loop);
  router_config self{"s", {{R"({"k": ["v"]})", false, to("router:s")}}, false, std::nullopt, ""};
  EXPECT_NE(message_of(validate(self)).find("itself"), std::string::npos);
}

class router_node_test : public node_test {};

TEST_F(router_node_test, routes_to_queues_and_topics_and_dead_letters_the_unroutable) {
  open({config("orders"), config("audit"), config("misc-copy")});
  ASSERT_FALSE(node_->create_topic({"misc", {{"misc-copy", "", false, true, ""}}}));
  auto c = by_type();
  c.fallback = std::nullopt;
  ASSERT_FALSE(node_->put_router(c));
  auto r = node_->route("by-type", {typed("order"), typed("refund"), typed("spam")});
  ASSERT_TRUE(r) << message_of(r.error());
  EXPECT_EQ(r->routed, 2u);
  EXPECT_EQ(r->unroutable, 1u);
  EXPECT_EQ(node_->stats("orders")->visible, 1u);
  EXPECT_EQ(node_->stats("audit")->visible, 1u);
  auto dead = node_->dead_letters("by-type-unroutable", 10);
  ASSERT_TRUE(dead);
  ASSERT_EQ(dead->size(), 1u) << "never silently dropped";
  EXPECT_EQ((*dead)[0].death.reason, "unroutable");

  c.fallback = to("topic:misc");
  ASSERT_FALSE(node_->put_router(c));
  reopen();
  ASSERT_EQ(node_->router_configuration("by-type")->fallback, to("topic:misc"));
  ASSERT_TRUE(node_->route("by-type", {typed("spam")}));
  EXPECT_EQ(node_->stats("misc-copy")->visible, 1u) << "the default target is a topic";
}

TEST_F(router_node_test, missing_targets_and_loops_through_the_node_are_refused) {
  open({config("q")});
  auto missing = node_->put_router(
      {"r", {{R"({"k": ["v"]})", false, to("topic:nope")}}, false, std::nullopt, ""});
  EXPECT_EQ(code_of(missing), errc::not_found);
  EXPECT_NE(message_of(missing).find("topic:nope"), std::string::npos);
  ASSERT_FALSE(node_->put_router(
      {"a", {{R"({"k": ["v"]})", false, to("queue:q")}}, false, std::nullopt, ""}));
  ASSERT_FALSE(node_->put_router(
      {"b", {{R"({"k": ["v"]})", false, to("router:a")}}, false, std::nullopt, ""}));
  auto loop = node_->put_router(
      {"a", {{R"({"k": ["v"]})", false, to("router:b")}}, false, std::nullopt, ""});
  EXPECT_NE(message_of(loop).find("loop"), std::string::npos) << message_of(loop);
  EXPECT_EQ(node_->router_configuration("a")->rules[0].to, to("queue:q")) << "unchanged";
  EXPECT_FALSE(node_->route("nope", {typed("x")}));
}

TEST(router_config_file, routers_are_declared_in_toml) {
  auto c = parse_config(R"(
[queues.orders]
[routers.by-type]
mode = "all"
default = "queue:orders"
[[routers.by-type.rules]]
match = '{"type": ["order"]}'
scope = "body"
to = "queue:orders"
)",
                        "r.toml");
  ASSERT_TRUE(c) << message_of(c.error());
  ASSERT_EQ(c->routers.size(), 1u);
  EXPECT_TRUE(c->routers[0].all_match);
  EXPECT_TRUE(c->routers[0].rules[0].match_body);
  auto bad =
      parse_config("[routers.r]\n[[routers.r.rules]]\nmatch = '{\"a\": [\"b\"]}'\n", "r.toml");
  ASSERT_FALSE(bad);
  EXPECT_EQ(message_of(bad.error()),
            "r.toml: router 'r': rule 1: to is required (e.g. \"queue:orders\")");
}
