// The `mailroom` CLI against a real mailroomd: output formats, exit codes and error messages.
#include "cli_fixture.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <string>
#include <vector>

using namespace mailroom::test;

TEST_F(cli_test, send_recv_ack_round_trip_with_json) {
  ASSERT_EQ(mailroom({"queue", "create", "orders"}).exit_code, 0);
  auto sent = mailroom({"send", "orders", "--attr", "tenant=acme", "hello"});
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  auto id = sent.out.substr(0, sent.out.find('\n'));
  EXPECT_EQ(id.size(), 36u);
  auto got = mailroom({"recv", "orders", "--json"});
  ASSERT_EQ(got.exit_code, 0) << got.err;
  auto msgs = lines(got.out);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0]["id"], id);
  EXPECT_EQ(msgs[0]["body"], "hello");
  EXPECT_EQ(msgs[0]["receive_count"], 1);
  EXPECT_EQ(msgs[0]["attributes"]["tenant"], "acme");
  auto acked = mailroom({"ack", "orders", msgs[0]["receipt"].get<std::string>()});
  EXPECT_EQ(acked.exit_code, 0) << acked.err;
  auto stats = lines(mailroom({"queue", "stats", "orders", "--json"}).out);
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0]["visible"], 0);
  EXPECT_EQ(stats[0]["in_flight"], 0);
  EXPECT_EQ(stats[0]["acked"], 1);
  for (auto field : {"delayed", "oldest_age_ms", "sent", "received", "dead_lettered"})
    EXPECT_TRUE(stats[0].contains(field)) << field;
}

TEST_F(cli_test, send_dash_sends_one_message_per_line) {
  ASSERT_EQ(mailroom({"queue", "create", "lines"}).exit_code, 0);
  auto sent = mailroom({"send", "lines", "-"}, "one\ntwo\n\nthree\n");
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  auto got = mailroom({"recv", "lines", "--max", "10", "--ack", "--json"});
  ASSERT_EQ(lines(got.out).size(), 3u);
  EXPECT_EQ(lines(got.out)[2]["body"], "three");
}

// Issue 9, bug 10: the CLI took --max-size 0 (0 means "default" on the wire) and
// --retry-factor nan, both refused by TOML.
TEST_F(cli_test, queue_create_applies_the_rules_toml_applies) {
  auto zero = mailroom({"queue", "create", "q0", "--max-size", "0"});
  EXPECT_EQ(zero.exit_code, 2);
  EXPECT_EQ(zero.err, "mailroom: queue 'q0': max message size 0 bytes is outside 1..64MiB\n");
  auto nan = mailroom({"queue", "create", "q1", "--retry-factor", "nan"});
  EXPECT_EQ(nan.exit_code, 2);
  EXPECT_NE(nan.err.find("a finite factor >= 1"), std::string::npos) << nan.err;
  // "-1" used to wrap to 2^64-1: no limit at all.
  auto negative = mailroom({"queue", "create", "q2", "--max-depth", "-1"});
  EXPECT_EQ(negative.exit_code, 1);
  EXPECT_NE(negative.err.find("--max-depth"), std::string::npos) << negative.err;
  EXPECT_NE(negative.err.find("non-negative"), std::string::npos) << negative.err;
  EXPECT_EQ(lines(mailroom({"queue", "ls", "--json"}).out).size(), 0u) << "none was created";
}

// Issue 9, bug 8: 'recv --json' replaced invalid UTF-8 with U+FFFD, corrupting binary bodies.
TEST_F(cli_test, recv_json_keeps_a_binary_body_as_base64) {
  ASSERT_EQ(mailroom({"queue", "create", "bin"}).exit_code, 0);
  ASSERT_EQ(mailroom({"send", "bin", "-"}, std::string{"\xFF\x00\xFE\n", 4}).exit_code, 0);
  ASSERT_EQ(mailroom({"send", "bin", "caf\xC3\xA9"}).exit_code, 0);
  auto got = lines(mailroom({"recv", "bin", "--max", "2", "--json"}).out);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_FALSE(got[0].contains("body"));
  EXPECT_EQ(got[0]["body_base64"], "/wD+");
  EXPECT_EQ(got[1]["body"], "caf\xC3\xA9");
  EXPECT_FALSE(got[1].contains("body_base64"));
}

// Issue 9, bug 7: 'ack Q GOOD BAD' exited 2 printing only BAD's error, yet GOOD was acked.
TEST_F(cli_test, a_mixed_ack_reports_every_receipts_outcome) {
  ASSERT_EQ(mailroom({"queue", "create", "mixed"}).exit_code, 0);
  ASSERT_EQ(mailroom({"send", "mixed", "x"}).exit_code, 0);
  auto got = lines(mailroom({"recv", "mixed", "--json"}).out);
  ASSERT_EQ(got.size(), 1u);
  auto good = got[0]["receipt"].get<std::string>();
  auto acked = mailroom({"ack", "mixed", good, "42.1", "--json"});
  EXPECT_EQ(acked.exit_code, 2) << "one was refused";
  auto results = lines(acked.out);
  ASSERT_EQ(results.size(), 2u) << acked.out;
  EXPECT_EQ(results[0]["receipt"], good);
  EXPECT_EQ(results[0]["acked"], true);
  EXPECT_EQ(results[1]["receipt"], "42.1");
  EXPECT_EQ(results[1]["acked"], false);
  EXPECT_EQ(results[1]["error_code"], "unknown_receipt");
  EXPECT_NE(acked.err.find("42.1: "), std::string::npos) << acked.err;
  auto text = mailroom({"ack", "mixed", "43.1"});
  EXPECT_EQ(text.out, "43.1\trefused unknown_receipt\n");
  auto stats = lines(mailroom({"queue", "stats", "mixed", "--json"}).out);
  EXPECT_EQ(stats[0]["in_flight"], 0) << "the good receipt was acked";
}

// Issue 9, bug 6: a batch producer into a nearly full queue was refused whole, every time.
TEST_F(cli_test, a_batch_into_a_nearly_full_queue_sends_what_fits_and_names_the_rest) {
  ASSERT_EQ(mailroom({"queue", "create", "small", "--max-depth", "3"}).exit_code, 0);
  ASSERT_EQ(mailroom({"send", "small", "first"}).exit_code, 0);
  auto sent = mailroom({"send", "small", "-", "--json"}, "a\nb\nc\nd\n");
  EXPECT_EQ(sent.exit_code, 2) << "some were refused";
  auto results = lines(sent.out);
  ASSERT_EQ(results.size(), 4u) << sent.out;
  EXPECT_TRUE(results[0].contains("id"));
  EXPECT_TRUE(results[1].contains("id"));
  EXPECT_EQ(results[2]["error_code"], "queue_full");
  EXPECT_EQ(results[3]["error_code"], "queue_full");
  EXPECT_NE(sent.err.find("message 3 not sent: queue 'small' is full: 2 new message(s)"),
            std::string::npos)
      << sent.err;
  EXPECT_NE(sent.err.find("2 of 4 message(s) sent, 2 refused"), std::string::npos) << sent.err;
  auto stats = lines(mailroom({"queue", "stats", "small", "--json"}).out);
  EXPECT_EQ(stats[0]["visible"], 3);
}

TEST_F(cli_test, nack_to_dead_letter_then_redrive) {
  ASSERT_EQ(
      mailroom({"queue", "create", "jobs", "--max-receive-count", "3", "--dead-letter", "jobs-dlq"})
          .exit_code,
      0);
  mailroom({"send", "jobs", "payload"});
  auto got = lines(mailroom({"recv", "jobs", "--json"}).out);
  ASSERT_EQ(got.size(), 1u);
  auto nacked = mailroom({"nack", "jobs", got[0]["receipt"].get<std::string>(), "--dead-letter",
                          "bad input", "--error", "field x missing"});
  ASSERT_EQ(nacked.exit_code, 0) << nacked.err;
  std::vector<nlohmann::json> dead;
  ASSERT_TRUE(eventually([&] {
    dead = lines(mailroom({"dlq", "ls", "jobs-dlq", "--json"}).out);
    return dead.size() == 1;
  }));
  EXPECT_EQ(dead[0]["id"], got[0]["id"]);
  EXPECT_EQ(dead[0]["reason"], "rejected");
  EXPECT_EQ(dead[0]["error"], "bad input: field x missing");
  EXPECT_EQ(dead[0]["source"], "jobs");
  EXPECT_EQ(dead[0]["receive_count"], 1);
  EXPECT_EQ(dead[0]["body"], "payload");

  auto dry = lines(mailroom({"dlq", "redrive", "jobs-dlq", "--dry-run", "--json"}).out);
  ASSERT_EQ(dry.size(), 1u);
  EXPECT_EQ(dry[0]["moved"], 1);
  EXPECT_EQ(lines(mailroom({"dlq", "ls", "jobs-dlq", "--json"}).out).size(), 1u);
  auto moved = lines(mailroom({"dlq", "redrive", "jobs-dlq", "--rate", "10", "--json"}).out);
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0]["moved"], 1);
  auto back = lines(mailroom({"recv", "jobs", "--json"}).out);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0]["id"], got[0]["id"]) << "redrive keeps the message id";
  ASSERT_EQ(back[0]["history"].size(), 1u) << "and its history";
  EXPECT_EQ(back[0]["history"][0]["reason"], "rejected");
  EXPECT_EQ(mailroom({"dlq", "purge", "jobs-dlq"}).out, "purged 0\n");
}

TEST_F(cli_test, usage_errors_exit_1_and_name_the_problem) {
  auto bad = mailroom({"queue", "create", "orders", "--visibility-timeout", "banana"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.err, "mailroom: queue 'orders': visibility timeout 'banana' is not a duration "
                     "(e.g. 250ms, 30s, 5m, 2h, 14d)\n");
  auto attr = mailroom({"send", "orders", "--attr", "novalue", "x"});
  EXPECT_EQ(attr.exit_code, 1);
  EXPECT_EQ(attr.err, "mailroom: attribute 'novalue' is not KEY=VALUE\n");
  EXPECT_EQ(mailroom({"frobnicate"}).exit_code, 1);
  EXPECT_EQ(mailroom({"nack", "q", "r", "--retry-after", "1s", "--dead-letter", "x"}).exit_code, 1);
}

TEST_F(cli_test, refusals_exit_2_with_the_reason) {
  auto unknown = mailroom({"send", "nope", "x"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_EQ(unknown.err, "mailroom: no queue named 'nope'\n");
  mailroom({"queue", "create", "small", "--max-size", "4"});
  auto big = mailroom({"send", "small", "12345"});
  EXPECT_EQ(big.exit_code, 2);
  EXPECT_EQ(big.err, "mailroom: queue 'small': message of 5 bytes exceeds the limit of 4 bytes\n");
  auto receipt = mailroom({"ack", "small", "42.1"});
  EXPECT_EQ(receipt.exit_code, 2);
  auto wait = mailroom({"recv", "small", "--wait", "30s"});
  EXPECT_EQ(wait.exit_code, 2);
  EXPECT_EQ(wait.err, "mailroom: queue 'small': wait 30000ms is outside 0s..20s\n");
}

TEST_F(cli_test, an_unreachable_node_exits_3) {
  auto r =
      run({MAILROOM_CLI_PATH, "--node", "127.0.0.1:" + std::to_string(free_port()), "queue", "ls"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("cannot be reached"), std::string::npos) << r.err;
}

// Issue 9, bug 10: a subscription to a queue declared nowhere was refused without naming the file.
TEST_F(cli_test, mailroomd_names_the_file_of_a_subscription_to_an_undeclared_queue) {
  auto path = dir.write("topics.toml", "[[topics.orders.subscriptions]]\nqueue = \"nowhere\"\n");
  auto r = run({MAILROOMD_PATH, "--config", path, "--data", dir.file("undeclared")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("mailroomd: " + path + ": ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("nowhere"), std::string::npos) << r.err;
}

TEST_F(cli_test, mailroomd_refuses_a_malformed_config_file_and_names_it) {
  auto path = dir.write("bad.toml", "[queues.orders]\nvisibility_timeout = \"soon\"\n");
  auto r = run({MAILROOMD_PATH, "--config", path, "--data", dir.file("other")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "mailroomd: " + path +
                ":2: queue 'orders': visibility_timeout 'soon' is not a duration (e.g. 250ms, "
                "30s, 5m, 2h, 14d)\n");
}

TEST(mailroomd_config, declares_queues_from_a_toml_file) {
  test_dir dir;
  auto path = dir.write(
      "node.toml",
      "[node]\nlog_level = \"warn\"\n\n"
      "[queues.orders]\nvisibility_timeout = \"45s\"\nmax_receive_count = 2\n"
      "dead_letter = \"orders-dlq\"\nretry = { base = \"100ms\", factor = 2.0, cap = \"1s\" }\n");
  node_process node{dir.file("data"), {"--config", path}};
  auto r = run({MAILROOM_CLI_PATH, "--node", node.address(), "queue", "ls"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "orders\n");
  auto dlq = run({MAILROOM_CLI_PATH, "--node", node.address(), "dlq", "ls", "orders-dlq"});
  EXPECT_EQ(dlq.exit_code, 0) << "the sink named in the file exists: " << dlq.err;
}

TEST_F(cli_test, visibility_releases_a_lease_and_purge_empties_the_queue) {
  ASSERT_EQ(mailroom({"queue", "create", "work"}).exit_code, 0);
  mailroom({"send", "work", "a"});
  auto got = lines(mailroom({"recv", "work", "--json"}).out);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(lines(mailroom({"recv", "work", "--json"}).out).empty()) << "leased";
  auto released = mailroom({"visibility", "work", got[0]["receipt"].get<std::string>(), "0s"});
  ASSERT_EQ(released.exit_code, 0) << released.err;
  auto again = lines(mailroom({"recv", "work", "--json"}).out);
  ASSERT_EQ(again.size(), 1u) << "released: visible at once";
  EXPECT_EQ(again[0]["receive_count"], 2);
  auto stale = mailroom({"visibility", "work", got[0]["receipt"].get<std::string>(), "10s"});
  EXPECT_EQ(stale.exit_code, 2);
  EXPECT_NE(stale.err.find("has expired"), std::string::npos) << stale.err;
  mailroom({"send", "work", "b"});
  EXPECT_EQ(mailroom({"queue", "purge", "work"}).out, "purged 2\n");
  auto stats = lines(mailroom({"queue", "stats", "work", "--json"}).out);
  EXPECT_EQ(stats[0]["visible"], 0);
  EXPECT_EQ(stats[0]["in_flight"], 0);
}

TEST_F(cli_test, topic_create_ls_show_delete) {
  ASSERT_EQ(mailroom({"queue", "create", "billing"}).exit_code, 0);
  for (auto t : {"orders", "refunds"})
    ASSERT_EQ(mailroom({"topic", "create", t}).exit_code, 0);
  auto sub = mailroom({"topic", "subscribe", "orders", "billing", "--raw", "--dead-letter",
                       "billing-dlq", "--filter", R"({"kind": ["paid"]})"});
  ASSERT_EQ(sub.exit_code, 0) << sub.err;

  std::vector<std::string> names;
  for (const auto& t : lines(mailroom({"topic", "ls", "--json"}).out))
    names.push_back(t.at("name"));
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"orders", "refunds"}));

  auto shown = mailroom({"topic", "show", "orders"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_NE(shown.out.find("published:"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("billing"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find(R"(filter on attributes {"kind": ["paid"]})"), std::string::npos)
      << shown.out;
  auto j = lines(mailroom({"topic", "show", "orders", "--json"}).out);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["name"], "orders");
  for (auto field : {"published", "deliveries", "unmatched", "dead_lettered"})
    EXPECT_EQ(j[0].at(field), 0) << field;
  ASSERT_EQ(j[0]["subscriptions"].size(), 1u);
  const auto& s = j[0]["subscriptions"][0];
  EXPECT_EQ(s.at("queue"), "billing");
  EXPECT_EQ(s.at("filter_policy"), R"({"kind": ["paid"]})");
  EXPECT_EQ(s.at("filter_scope"), "attributes");
  EXPECT_EQ(s.at("raw"), true);
  EXPECT_EQ(s.at("dead_letter"), "billing-dlq");

  ASSERT_EQ(mailroom({"topic", "unsubscribe", "orders", "billing"}).exit_code, 0);
  EXPECT_TRUE(
      lines(mailroom({"topic", "show", "orders", "--json"}).out)[0]["subscriptions"].empty());
  auto again = mailroom({"topic", "unsubscribe", "orders", "billing"});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.err.find("'billing'"), std::string::npos) << again.err;

  ASSERT_EQ(mailroom({"topic", "delete", "orders"}).exit_code, 0);
  EXPECT_EQ(mailroom({"topic", "ls"}).out, "refunds\n");
  auto gone = mailroom({"topic", "show", "orders"});
  EXPECT_EQ(gone.exit_code, 2);
  EXPECT_EQ(gone.err, "mailroom: no topic named 'orders'\n");
  EXPECT_EQ(mailroom({"queue", "ls"}).out, "billing\n") << "deleting a topic keeps its queues";
}

TEST_F(cli_test, a_filtered_subscription_gets_only_the_matching_messages) {
  ASSERT_EQ(mailroom({"queue", "create", "billing"}).exit_code, 0);
  ASSERT_EQ(mailroom({"topic", "create", "orders"}).exit_code, 0);
  ASSERT_EQ(mailroom({"topic", "subscribe", "orders", "billing", "--raw", "--filter",
                      R"({"kind": ["paid"]})"})
                .exit_code,
            0);

  auto paid = mailroom({"publish", "orders", "--attr", "kind=paid", "p1", "--json"});
  ASSERT_EQ(paid.exit_code, 0) << paid.err;
  auto result = lines(paid.out);
  ASSERT_EQ(result.size(), 1u);
  EXPECT_EQ(result[0].at("id").get<std::string>().size(), 36u);
  EXPECT_EQ(result[0].at("deliveries"), 1);
  EXPECT_EQ(result[0].at("unmatched"), 0);
  EXPECT_EQ(result[0].at("dead_lettered"), 0);
  auto lost = mailroom({"publish", "orders", "--attr", "kind=lost", "p2"});
  ASSERT_EQ(lost.exit_code, 0) << lost.err;
  EXPECT_NE(lost.out.find("delivered to 0 subscription(s); matched no subscription"),
            std::string::npos)
      << lost.out;

  auto got = lines(mailroom({"recv", "billing", "--max", "10", "--json"}).out);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]["body"], "p1");
  EXPECT_EQ(got[0]["causation_id"], result[0]["id"]) << "a copy names the publish it came from";
  auto shown = lines(mailroom({"topic", "show", "orders", "--json"}).out);
  EXPECT_EQ(shown[0]["published"], 2);
  EXPECT_EQ(shown[0]["deliveries"], 1);
  EXPECT_EQ(shown[0]["unmatched"], 1);
}

TEST_F(cli_test, a_raw_subscription_gets_the_body_and_an_enveloped_one_an_sns_notification) {
  for (auto q : {"raw", "enveloped"})
    ASSERT_EQ(mailroom({"queue", "create", q}).exit_code, 0);
  ASSERT_EQ(mailroom({"topic", "create", "orders"}).exit_code, 0);
  ASSERT_EQ(mailroom({"topic", "subscribe", "orders", "raw", "--raw"}).exit_code, 0);
  ASSERT_EQ(mailroom({"topic", "subscribe", "orders", "enveloped"}).exit_code, 0);
  auto published =
      lines(mailroom({"publish", "orders", "--attr", "kind=paid", "p1", "--json"}).out);
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0]["deliveries"], 2);

  auto raw = lines(mailroom({"recv", "raw", "--json"}).out);
  ASSERT_EQ(raw.size(), 1u);
  EXPECT_EQ(raw[0]["body"], "p1");
  auto enveloped = lines(mailroom({"recv", "enveloped", "--json"}).out);
  ASSERT_EQ(enveloped.size(), 1u);
  auto envelope = nlohmann::json::parse(enveloped[0]["body"].get<std::string>());
  EXPECT_EQ(envelope["Message"], "p1");
  EXPECT_EQ(envelope["MessageId"], published[0]["id"]);
  EXPECT_EQ(envelope["MessageAttributes"]["kind"]["Value"], "paid");
}

TEST_F(cli_test, filter_body_matches_fields_of_a_json_body) {
  ASSERT_EQ(mailroom({"queue", "create", "big"}).exit_code, 0);
  ASSERT_EQ(mailroom({"topic", "create", "orders"}).exit_code, 0);
  auto sub = mailroom({"topic", "subscribe", "orders", "big", "--raw", "--filter-body", "--filter",
                       R"({"total": [{"numeric": [">", 100]}]})"});
  ASSERT_EQ(sub.exit_code, 0) << sub.err;
  EXPECT_EQ(lines(mailroom({"topic", "show", "orders", "--json"})
                      .out)[0]["subscriptions"][0]["filter_scope"],
            "body");
  mailroom({"publish", "orders", R"({"total": 5})"});
  mailroom({"publish", "orders", R"({"total": 500})"});
  auto got = lines(mailroom({"recv", "big", "--max", "10", "--json"}).out);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]["body"], R"({"total": 500})");
}

TEST_F(cli_test, publish_dash_publishes_one_message_per_line_in_one_batch) {
  ASSERT_EQ(mailroom({"queue", "create", "all"}).exit_code, 0);
  ASSERT_EQ(mailroom({"topic", "create", "orders"}).exit_code, 0);
  ASSERT_EQ(mailroom({"topic", "subscribe", "orders", "all", "--raw"}).exit_code, 0);
  auto published = mailroom({"publish", "orders", "-", "--json"}, "one\ntwo\n\nthree\n");
  ASSERT_EQ(published.exit_code, 0) << published.err;
  auto result = lines(published.out);
  ASSERT_EQ(result.size(), 1u) << "one result for the batch";
  EXPECT_EQ(result[0].at("ids").size(), 3u);
  EXPECT_EQ(result[0].at("deliveries"), 3);
  EXPECT_EQ(result[0].at("unmatched"), 0);
  EXPECT_EQ(result[0].at("dead_lettered"), 0);
  auto got = lines(mailroom({"recv", "all", "--max", "10", "--json"}).out);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[2]["body"], "three");
  auto human = mailroom({"publish", "orders", "-"}, "four\n");
  EXPECT_NE(human.out.find("published 1 message, delivered 1 copy\n"), std::string::npos)
      << human.out;
}

TEST_F(cli_test, topic_bad_input_exits_with_the_reason) {
  ASSERT_EQ(mailroom({"queue", "create", "billing"}).exit_code, 0);
  ASSERT_EQ(mailroom({"topic", "create", "orders"}).exit_code, 0);
  auto bad_filter =
      mailroom({"topic", "subscribe", "orders", "billing", "--filter", R"({"kind": "paid"})"});
  EXPECT_EQ(bad_filter.exit_code, 2);
  EXPECT_NE(bad_filter.err.find("filter policy"), std::string::npos) << bad_filter.err;
  auto not_json = mailroom({"topic", "subscribe", "orders", "billing", "--filter", "{kind"});
  EXPECT_EQ(not_json.exit_code, 2);
  EXPECT_NE(not_json.err.find("filter policy"), std::string::npos) << not_json.err;
  auto no_queue = mailroom({"topic", "subscribe", "orders", "nope"});
  EXPECT_EQ(no_queue.exit_code, 2);
  EXPECT_NE(no_queue.err.find("'nope'"), std::string::npos) << no_queue.err;
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"publish", "nope", "x"},
           {"topic", "show", "nope"},
           {"topic", "delete", "nope"},
           {"topic", "subscribe", "nope", "billing"},
       }) {
    auto no_topic = mailroom(args);
    EXPECT_EQ(no_topic.exit_code, 2) << args[1];
    EXPECT_EQ(no_topic.err, "mailroom: no topic named 'nope'\n") << args[1];
  }
}

TEST_F(cli_test, topic_usage_errors_exit_1_before_reaching_the_node) {
  auto body_only = mailroom({"topic", "subscribe", "orders", "billing", "--filter-body"});
  EXPECT_EQ(body_only.exit_code, 1);
  EXPECT_NE(body_only.err.find("--filter-body requires --filter"), std::string::npos)
      << body_only.err;
  auto empty = mailroom({"topic", "subscribe", "orders", "billing", "--filter", ""});
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_NE(empty.err.find("--filter needs a JSON policy"), std::string::npos) << empty.err;
  auto attr = mailroom({"publish", "orders", "--attr", "novalue", "x"});
  EXPECT_EQ(attr.exit_code, 1);
  EXPECT_EQ(attr.err, "mailroom: attribute 'novalue' is not KEY=VALUE\n");
  EXPECT_EQ(mailroom({"topic"}).exit_code, 1);
}

TEST_F(cli_test, a_resend_with_the_same_dedup_id_answers_the_original_id) {
  ASSERT_EQ(mailroom({"queue", "create", "payments", "--dedup-window", "1m"}).exit_code, 0);
  auto first = mailroom({"send", "payments", "--dedup-id", "pay-7", "charge 10"});
  auto again = mailroom({"send", "payments", "--dedup-id", "pay-7", "charge 10"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(again.out, first.out);
  auto stats = lines(mailroom({"queue", "stats", "payments", "--json"}).out);
  EXPECT_EQ(stats[0]["visible"], 1);
  auto bad = mailroom({"queue", "create", "q2", "--dedup-window", "100ms"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("dedup window"), std::string::npos) << bad.err;
}

TEST_F(cli_test, fifo_queues_take_groups_and_refuse_messages_without_one) {
  ASSERT_EQ(mailroom({"queue", "create", "ledger", "--fifo"}).exit_code, 0);
  ASSERT_EQ(mailroom({"send", "ledger", "--group", "acct-1", "debit 5"}).exit_code, 0);
  ASSERT_EQ(mailroom({"send", "ledger", "--group", "acct-1", "credit 7"}).exit_code, 0);
  auto got = lines(mailroom({"recv", "ledger", "--max", "10", "--json"}).out);
  ASSERT_EQ(got.size(), 1u) << "one in flight per group";
  EXPECT_EQ(got[0]["body"], "debit 5");
  EXPECT_EQ(got[0]["group_id"], "acct-1");
  auto no_group = mailroom({"send", "ledger", "x"});
  EXPECT_EQ(no_group.exit_code, 2);
  EXPECT_NE(no_group.err.find("needs a group id"), std::string::npos) << no_group.err;
}

TEST(cli_trace, trace_prints_a_message_story_and_what_it_caused) {
  test_dir dir;
  node_process traced{dir.path(), {"--trace"}};
  auto mailroom = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {MAILROOM_CLI_PATH, "--node", traced.address()});
    return run(args);
  };
  ASSERT_EQ(mailroom({"queue", "create", "orders"}).exit_code, 0);
  ASSERT_EQ(mailroom({"topic", "create", "events"}).exit_code, 0);
  ASSERT_EQ(mailroom({"topic", "subscribe", "events", "orders", "--raw"}).exit_code, 0);
  auto published = mailroom({"publish", "events", "o1", "--json"});
  auto publish_id = nlohmann::json::parse(published.out)["id"].get<std::string>();
  auto got = nlohmann::json::parse(mailroom({"recv", "orders", "--json"}).out);
  ASSERT_EQ(mailroom({"ack", "orders", got["receipt"].get<std::string>()}).exit_code, 0);

  auto story = mailroom({"trace", got["id"].get<std::string>()});
  ASSERT_EQ(story.exit_code, 0) << story.err;
  EXPECT_NE(story.out.find("caused by " + publish_id), std::string::npos) << story.out;
  for (auto step : {"sent", "delivered", "acked"})
    EXPECT_NE(story.out.find(std::string{"orders  "} + step), std::string::npos) << story.out;
  auto fan_out = mailroom({"trace", publish_id, "--json"});
  ASSERT_EQ(fan_out.exit_code, 0) << fan_out.err;
  std::istringstream lines{fan_out.out};
  std::vector<std::string> kinds;
  for (std::string line; std::getline(lines, line);)
    kinds.push_back(nlohmann::json::parse(line)["kind"]);
  EXPECT_EQ(kinds, (std::vector<std::string>{"published", "sent", "delivered", "acked"}));
  auto unknown = mailroom({"trace", "nope"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("no trace of message 'nope'"), std::string::npos);
}
