#include "mailroom/config.hpp"
#include "mailroom/error.hpp"
#include "test_dir.hpp"

#include <gtest/gtest.h>

#include <cmath>

using namespace mailroom;

TEST(config, reads_node_and_queues) {
  auto c = parse_config(R"(
[node]
data_dir = "/tmp/x"
listen = "127.0.0.1:9000"
log_level = "debug"
durable = false

[queues.orders]
visibility_timeout = "45s"
delay = "2s"
retention = "14d"
max_message_size = 1024
max_receive_count = 5
dead_letter = "orders-dlq"
retry = { base = "500ms", factor = 3.0, cap = "1m" }
max_depth = 1000

[queues.emails]
)",
                        "test.toml");
  ASSERT_TRUE(c) << message_of(c.error());
  EXPECT_EQ(c->data_dir, "/tmp/x");
  EXPECT_EQ(c->listen, "127.0.0.1:9000");
  EXPECT_FALSE(c->durable);
  ASSERT_EQ(c->queues.size(), 2u);
  const auto& emails = c->queues[0].name == "emails" ? c->queues[0] : c->queues[1];
  const auto& orders = c->queues[0].name == "orders" ? c->queues[0] : c->queues[1];
  EXPECT_EQ(emails.visibility_timeout_ms, queue_config{}.visibility_timeout_ms);
  EXPECT_EQ(orders.visibility_timeout_ms, 45'000);
  EXPECT_EQ(orders.delay_ms, 2'000);
  EXPECT_EQ(orders.retention_ms, 14LL * 86'400'000);
  EXPECT_EQ(orders.max_message_bytes, 1024u);
  EXPECT_EQ(orders.max_receive_count, 5u);
  EXPECT_EQ(orders.dead_letter_target, "orders-dlq");
  EXPECT_EQ(orders.retry.base_ms, 500);
  EXPECT_EQ(orders.retry.factor, 3.0);
  EXPECT_EQ(orders.retry.cap_ms, 60'000);
  EXPECT_EQ(orders.max_depth, 1000u);
}

namespace {

std::string error_for(const char* toml) {
  auto c = parse_config(toml, "bad.toml");
  EXPECT_FALSE(c);
  if (c)
    return {};
  EXPECT_EQ(code_of(c.error()), errc::invalid_argument);
  return message_of(c.error());
}

} // namespace

TEST(config, a_queue_may_dead_letter_into_a_queue_instead_of_a_sink) {
  auto c = parse_config(R"(
[queues.orders]
max_receive_count = 3
dead_letter_queue = "orders-dlq"
[queues.orders-dlq]
)",
                        "test.toml");
  ASSERT_TRUE(c) << message_of(c.error());
  const auto& orders = c->queues[0].name == "orders" ? c->queues[0] : c->queues[1];
  EXPECT_EQ(orders.dead_letter_queue, "orders-dlq");
  EXPECT_TRUE(orders.dead_letter_target.empty());
  EXPECT_EQ(error_for("[queues.orders]\ndead_letter = \"a\"\ndead_letter_queue = \"b\""),
            "bad.toml:1: queue 'orders': dead letters go to a sink or to a queue, not both ('a' "
            "and 'b')");
}

TEST(config, an_alarm_may_fire_below_its_threshold_and_watch_a_counter_over_a_window) {
  auto c = parse_config(R"(
[alarms.quiet]
entity = "queue:orders"
metric = "sent"
threshold = 1
fire_when = "below"
window = "5m"
topic = "alerts"
)",
                        "test.toml");
  ASSERT_TRUE(c) << message_of(c.error());
  ASSERT_EQ(c->alarms.size(), 1u);
  EXPECT_TRUE(c->alarms[0].below);
  EXPECT_EQ(c->alarms[0].window_ms, 300'000);
  EXPECT_EQ(error_for("[alarms.a]\nentity = \"queue:q\"\nmetric = \"sent\"\nthreshold = 1\n"
                      "topic = \"t\"\nfire_when = \"under\""),
            "bad.toml:6: alarm 'a': fire_when 'under' is neither \"above\" nor \"below\"");
}

TEST(config, malformed_toml_names_file_and_line) {
  auto e = error_for("[node\ndata_dir = 1");
  EXPECT_EQ(e.rfind("bad.toml: line 1", 0), 0u) << e;
}

TEST(config, bad_values_name_queue_field_and_value) {
  EXPECT_EQ(
      error_for("[queues.orders]\nvisibility_timeout = \"banana\""),
      "bad.toml:2: queue 'orders': visibility_timeout 'banana' is not a duration (e.g. 250ms, "
      "30s, 5m, 2h, 14d)");
  EXPECT_EQ(error_for("[queues.orders]\nvisibility_timeout = 30"),
            "bad.toml:2: queue 'orders': visibility_timeout must be a string such as \"30s\"");
  EXPECT_EQ(error_for("[queues.orders]\nmax_receive_count = 3"),
            "bad.toml:1: queue 'orders': max receive count needs a dead-letter target");
  EXPECT_EQ(error_for("[queues.orders]\nmax_receive_count = -1"),
            "bad.toml:2: queue 'orders': max_receive_count must be a non-negative integer");
}

// Issue 9, bug 10: a NaN retry factor was accepted, 2^63-1 was refused as "must be a
// non-negative integer", and value errors named no line.
TEST(config, a_retry_factor_must_be_a_finite_number_of_at_least_one) {
  EXPECT_EQ(error_for("[queues.orders]\nretry = { factor = nan }"),
            "bad.toml:2: queue 'orders': retry.factor nan is not a finite number >= 1");
  EXPECT_EQ(error_for("[queues.orders]\n\nretry = { factor = inf }"),
            "bad.toml:3: queue 'orders': retry.factor inf is not a finite number >= 1");
  EXPECT_EQ(error_for("[queues.orders]\nretry = { factor = 0.5 }"),
            "bad.toml:2: queue 'orders': retry.factor 0.5 is not a finite number >= 1");
  queue_config q;
  q.name = "orders";
  q.retry.factor = std::nan("");
  EXPECT_TRUE(validate(q)) << "the one rule behind TOML, the CLI and the node";
}

TEST(config, the_largest_integers_parse_and_larger_ones_name_the_limit) {
  auto big = parse_config("[queues.orders]\nmax_depth = 9223372036854775807\n", "big.toml");
  ASSERT_TRUE(big) << message_of(big.error());
  EXPECT_EQ(big->queues[0].max_depth, 9223372036854775807u);
  auto e = error_for("[queues.orders]\nmax_receive_count = 9223372036854775807");
  EXPECT_EQ(e.rfind("bad.toml:2: queue 'orders': max_receive_count 9223372036854775807 is larger "
                    "than the largest allowed, ",
                    0),
            0u)
      << e;
  EXPECT_EQ(error_for("[queues.orders]\nmax_message_size = 0"),
            "bad.toml:1: queue 'orders': max message size 0 bytes is outside 1..64MiB");
}

TEST(config, unknown_keys_are_errors_not_silent_defaults) {
  EXPECT_EQ(error_for("[queues.orders]\nvisibilty_timeout = \"30s\""),
            "bad.toml:2: queue 'orders': unknown key 'visibilty_timeout'");
  EXPECT_EQ(error_for("[nodes]\n"), "bad.toml:1: top level: unknown key 'nodes'");
  EXPECT_EQ(error_for("[node]\ndurable = \"yes\""),
            "bad.toml: [node] durable must be true or false");
}

TEST(config, a_bad_queue_cache_is_refused_naming_the_key) {
  EXPECT_EQ(error_for("[node]\nqueue_cache = -1"),
            "bad.toml:2: [node] queue_cache must be a non-negative integer");
  EXPECT_NE(error_for("[node]\nqueue_cache = \"4MiB\"").find("[node] queue_cache"),
            std::string::npos);
  EXPECT_NE(error_for("[node]\nqueue_cache = nan").find("[node] queue_cache"), std::string::npos);
}

TEST(config, a_bad_max_memory_is_refused_naming_the_key) {
  EXPECT_EQ(error_for("[node]\nmax_memory = -1"),
            "bad.toml:2: [node] max_memory must be a non-negative integer");
  EXPECT_NE(error_for("[node]\nmax_memory = \"1GiB\"").find("[node] max_memory"),
            std::string::npos);
  EXPECT_NE(error_for("[node]\nmax_memory = 1.5").find("[node] max_memory"), std::string::npos);
  EXPECT_NE(error_for("[node]\nmax_memory = nan").find("[node] max_memory"), std::string::npos);
  EXPECT_NE(error_for("[node]\nmax_memory = 99999999999999999999").find("line 2"),
            std::string::npos)
      << "past int64: the TOML parser's error, with the line";
  EXPECT_EQ(error_for("[node]\nmax_memory = 4096"),
            "bad.toml:2: [node] max_memory of 4096 bytes is below the least a node runs with, "
            "1048576 (1 MiB); 0 means no limit");
  auto unlimited = parse_config("[node]\nmax_memory = 0", "ok.toml");
  ASSERT_TRUE(unlimited) << message_of(unlimited.error());
  EXPECT_EQ(unlimited->max_memory_bytes, 0u) << "no limit";
}

TEST(config, topics_declare_their_subscriptions) {
  auto c = parse_config(R"(
[queues.billing]
[queues.audit]
[[topics.orders.subscriptions]]
queue = "billing"
filter = '{"kind": ["paid"]}'
raw = true
dead_letter_queue = "billing-dlq"

[[topics.orders.subscriptions]]
queue = "audit"
filter = '{"order": {"total": [{"numeric": [">", 100]}]}}'
filter_scope = "body"
dead_letter = "audit-undeliverable"
)",
                        "topics.toml");
  ASSERT_TRUE(c) << message_of(c.error());
  ASSERT_EQ(c->topics.size(), 1u);
  const auto& t = c->topics[0];
  EXPECT_EQ(t.name, "orders");
  ASSERT_EQ(t.subscriptions.size(), 2u);
  EXPECT_EQ(t.subscriptions[0].queue, "billing");
  EXPECT_TRUE(t.subscriptions[0].raw);
  EXPECT_EQ(t.subscriptions[0].dead_letter_queue, "billing-dlq");
  EXPECT_FALSE(t.subscriptions[0].filter_on_body);
  EXPECT_TRUE(t.subscriptions[1].filter_on_body);
  EXPECT_FALSE(t.subscriptions[1].raw);
  EXPECT_EQ(t.subscriptions[1].dead_letter_target, "audit-undeliverable");
}

TEST(config, bad_topics_name_the_topic_and_subscription) {
  EXPECT_EQ(error_for("[topics.orders]\nsubscriptions = [{ queue = \"a\", filtre = \"{}\" }]"),
            "bad.toml:2: topic 'orders': subscription 1: unknown key 'filtre'");
  EXPECT_EQ(error_for("[topics.orders]\nsubscriptions = [{ raw = true }]"),
            "bad.toml: topic 'orders': subscription 1: queue is required");
  EXPECT_EQ(
      error_for("[topics.orders]\nsubscriptions = [{ queue = \"a\", filter_scope = \"head\" }]"),
      "bad.toml: topic 'orders': subscription 1: filter_scope must be \"attributes\" or \"body\"");
  auto e = error_for("[topics.orders]\nsubscriptions = [{ queue = \"a\", filter = '{\"k\": 1}' }]");
  EXPECT_EQ(e.rfind("bad.toml: topic 'orders': subscription 'a': filter policy", 0), 0u) << e;
}

TEST(config, sagas_declare_steps_with_templates_timeouts_and_retries) {
  auto c = parse_config(R"(
[sagas.order]
version = 2
alarm_topic = "alerts"

[[sagas.order.steps]]
name = "CreateOrder"
queue = "orders"
command = '{"customer":{{customer}}}'
compensation = '{"cancel":{{order_id}}}'
timeout = "5s"
retry = { max_attempts = 4, base = "200ms", factor = 3.0, cap = "10s" }

[[sagas.order.steps]]
name = "ProcessPayment"
queue = "payments"
command = '{"charge":{{amount}}}'
compensation_queue = "refunds"
compensation = '{"refund":{{amount}}}'
compensation_retry = { max_attempts = 9 }
)",
                        "sagas.toml");
  ASSERT_TRUE(c) << message_of(c.error());
  ASSERT_EQ(c->sagas.size(), 1u);
  const auto& d = c->sagas[0];
  EXPECT_EQ(d.version, 2u);
  EXPECT_EQ(d.alarm_topic, "alerts");
  ASSERT_EQ(d.steps.size(), 2u);
  EXPECT_EQ(d.steps[0].timeout_ms, 5'000);
  EXPECT_EQ(d.steps[0].retry, (saga_retry{4, 200, 3.0, 10'000}));
  EXPECT_EQ(d.steps[1].undo_queue(), "refunds");
  EXPECT_EQ(d.steps[1].compensation_retry.max_attempts, 9u);
}

TEST(config, bad_sagas_name_the_saga_step_and_key) {
  auto error_of = [](const char* toml) {
    auto c = parse_config(toml, "bad.toml");
    return c ? std::string{"accepted"} : message_of(c.error());
  };
  EXPECT_NE(error_of("[sagas.order]\nversion = 1\n").find("[[sagas.order.steps]]"),
            std::string::npos);
  EXPECT_NE(error_of("[[sagas.order.steps]]\nname = \"A\"\ncommand = \"x\"\n")
                .find("step 1: queue is required"),
            std::string::npos);
  EXPECT_NE(error_of("[[sagas.order.steps]]\nname = \"A\"\nqueue = \"q\"\ncommand = \"{{x\"\n")
                .find("step 'A': command template"),
            std::string::npos);
  EXPECT_NE(error_of("[[sagas.order.steps]]\nname = \"A\"\nqueue = \"q\"\ncommand = \"x\"\n"
                     "timeout = \"soon\"\n")
                .find("timeout"),
            std::string::npos);
  EXPECT_NE(error_of("[[sagas.order.steps]]\nname = \"A\"\nqueue = \"q\"\ncommand = \"x\"\n"
                     "retry = { tries = 3 }\n")
                .find("unknown key 'tries'"),
            std::string::npos);
}

TEST(config, node_limits_for_clients_and_the_disk_are_read_and_checked) {
  auto c = parse_config(R"([node]
max_connections = 10
idle_timeout = "2m"
frame_timeout = "5s"
max_frame_size = 1048576
max_incomplete_frames = 4194304
min_free_disk = 1000000
queue_cache = 65536
max_memory = 268435456
)",
                        "limits.toml");
  ASSERT_TRUE(c) << message_of(c.error());
  EXPECT_EQ(c->endpoint.max_connections, 10u);
  EXPECT_EQ(c->endpoint.idle_timeout_ms, 120'000);
  EXPECT_EQ(c->endpoint.frame_timeout_ms, 5'000);
  EXPECT_EQ(c->endpoint.max_frame_bytes, 1048576u);
  EXPECT_EQ(c->endpoint.max_incomplete_frame_bytes, 4194304u);
  EXPECT_EQ(c->min_free_disk_bytes, 1000000u);
  EXPECT_EQ(c->queue_cache_bytes, 65536u);
  EXPECT_EQ(c->max_memory_bytes, 256u << 20);

  auto defaults = parse_config("", "empty.toml");
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->endpoint.max_connections, 1024u);
  EXPECT_EQ(defaults->min_free_disk_bytes, 64u << 20);
  EXPECT_EQ(defaults->queue_cache_bytes, 16u << 20);
  EXPECT_EQ(defaults->max_memory_bytes, 1u << 30);

  auto zero = parse_config("[node]\nmax_connections = 0\n", "zero.toml");
  ASSERT_FALSE(zero);
  EXPECT_EQ(message_of(zero.error()), "zero.toml:1: [node] max_connections must be at least 1");
  auto tight = parse_config("[node]\nmax_frame_size = 1048576\nmax_incomplete_frames = 1000\n",
                            "tight.toml");
  ASSERT_FALSE(tight);
  EXPECT_NE(message_of(tight.error()).find("cannot hold one frame of max_frame_size"),
            std::string::npos);
  auto forever = parse_config("[node]\nframe_timeout = \"100000000d\"\n", "forever.toml");
  ASSERT_FALSE(forever);
  EXPECT_NE(message_of(forever.error()).find("[node] frame_timeout"), std::string::npos);
  EXPECT_NE(message_of(forever.error()).find("is outside 1ms..1h"), std::string::npos);
  auto idle = parse_config("[node]\nidle_timeout = \"30d\"\n", "idle.toml");
  ASSERT_FALSE(idle);
  EXPECT_NE(message_of(idle.error()).find("is outside 1ms..7d"), std::string::npos);
  auto huge = parse_config("[node]\nmax_frame_size = 9223372036854775807\n", "huge.toml");
  ASSERT_FALSE(huge);
  EXPECT_NE(message_of(huge.error()).find("is outside 4096..2147483648"), std::string::npos)
      << message_of(huge.error());
  auto negative = parse_config("[node]\nmin_free_disk = -1\n", "neg.toml");
  ASSERT_FALSE(negative);
  EXPECT_EQ(message_of(negative.error()),
            "neg.toml:2: [node] min_free_disk must be a non-negative integer");
}

TEST(config, http_auth_reads_its_keys_file_relative_to_the_config) {
  test::test_dir dir;
  dir.write("keys", "# id secret\nAKID1 secret-one\n\n  AKID2   secret-two  \n");
  auto path = dir.write("node.toml", "[node]\nhttp = \"127.0.0.1:7480\"\n[http]\n"
                                     "auth = \"sigv4\"\nkeys_file = \"keys\"\n");
  auto c = load_config(path);
  ASSERT_TRUE(c) << message_of(c.error());
  EXPECT_EQ(c->http, "127.0.0.1:7480");
  EXPECT_EQ(c->http_auth.mode, "sigv4");
  EXPECT_EQ(c->http_auth.keys,
            (std::map<std::string, std::string>{{"AKID1", "secret-one"}, {"AKID2", "secret-two"}}));
}

TEST(config, http_auth_errors_name_the_key_file_and_line) {
  test::test_dir dir;
  auto refused = [&](const std::string& http_table) {
    auto c = load_config(dir.write("node.toml", "[http]\n" + http_table));
    EXPECT_FALSE(c) << http_table;
    return c ? std::string{} : message_of(c.error());
  };
  EXPECT_NE(refused("auth = \"basic\"\n").find("[http] auth must be"), std::string::npos);
  EXPECT_NE(refused("keys_file = \"missing\"\n").find("cannot be read"), std::string::npos);
  dir.write("bad", "AKID1 s1\nAKID2\n");
  EXPECT_NE(refused("keys_file = \"bad\"\n").find("line 2"), std::string::npos);
  dir.write("twice", "AKID1 s1\nAKID1 s2\n");
  EXPECT_NE(refused("keys_file = \"twice\"\n").find("listed twice"), std::string::npos);
  EXPECT_NE(refused("colour = \"red\"\n").find("colour"), std::string::npos);
}

TEST(config, a_queue_receive_wait_is_read_and_bounded_by_sqs_limits) {
  auto c = parse_config("[queues.q]\nreceive_wait = \"20s\"\n", "t.toml");
  ASSERT_TRUE(c) << message_of(c.error());
  EXPECT_EQ(c->queues.at(0).receive_wait_ms, 20'000);
  auto bad = parse_config("[queues.q]\nreceive_wait = \"21s\"\n", "t.toml");
  ASSERT_FALSE(bad);
  EXPECT_NE(message_of(bad.error()).find("receive wait"), std::string::npos)
      << message_of(bad.error());
}
