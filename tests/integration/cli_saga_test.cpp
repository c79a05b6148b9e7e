// `mailroom saga ...` against real processes: example-order-saga (the order saga and its
// services) and mailroomd with a saga declared in its TOML file.
#include "../unit/test_dir.hpp"
#include "process.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <sstream>

using namespace mailroom::test;

namespace {

run_result cli(const node_process& node, std::vector<std::string> args) {
  args.insert(args.begin(), {MAILROOM_CLI_PATH, "--node", node.address()});
  return run(args);
}

nlohmann::json json_of(const run_result& r) {
  return nlohmann::json::parse(r.out.substr(0, r.out.find('\n')));
}

bool reaches(const node_process& node, const std::string& id, const std::string& status) {
  return eventually([&] {
    auto r = cli(node, {"saga", "show", id, "--json"});
    return r.exit_code == 0 && json_of(r)["status"] == status;
  });
}

} // namespace

TEST(cli_saga, start_ls_show_stats_and_cancel_with_json_and_exit_codes) {
  test_dir dir;
  node_process app{dir.path(), {}, ORDER_SAGA_PATH};
  auto started = cli(app, {"saga", "start", "order", "--data", R"({"customer":"c","amount":5})"});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  auto id = started.out.substr(0, started.out.find('\n'));
  ASSERT_TRUE(reaches(app, id, "COMPLETED"));
  auto declined = json_of(cli(app, {"saga", "start", "order", "--json", "--data",
                                    R"({"customer":"d","amount":5000})", "--key", "k-1"}));
  auto again = json_of(cli(app, {"saga", "start", "order", "--json", "--data",
                                 R"({"customer":"d","amount":5000})", "--key", "k-1"}));
  EXPECT_EQ(declined["id"], again["id"]) << "the same key gives the same saga";
  ASSERT_TRUE(reaches(app, declined["id"], "COMPENSATED"));

  auto shown = json_of(cli(app, {"saga", "show", declined["id"], "--json"}));
  EXPECT_EQ(shown["idempotency_key"], "k-1");
  ASSERT_EQ(shown["timeline"].size(), 5u);
  EXPECT_EQ(shown["timeline"][2]["step"], "ProcessPayment");
  EXPECT_EQ(shown["timeline"][2]["attempts"][0]["outcome"], "rejected");
  EXPECT_EQ(shown["timeline"][3]["step"], "ReserveInventory");
  EXPECT_EQ(shown["timeline"][3]["action"], "compensate");
  EXPECT_EQ(shown["timeline"][4]["step"], "CreateOrder");
  EXPECT_EQ(shown["timeline"][0]["attempts"][0]["command_id"].get<std::string>().size(), 36u);

  auto listed = cli(app, {"saga", "ls", "--status", "compensated", "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  auto summary = json_of(listed);
  EXPECT_EQ(summary["id"], declined["id"]);
  for (auto field :
       {"definition", "version", "status", "current_step", "started_at_ms", "updated_at_ms"})
    EXPECT_TRUE(summary.contains(field)) << field;
  auto text = cli(app, {"saga", "show", id});
  EXPECT_NE(text.out.find("COMPLETED"), std::string::npos);
  EXPECT_NE(text.out.find("ProcessPayment"), std::string::npos);
  auto stats = json_of(cli(app, {"saga", "stats", "--json"}));
  EXPECT_EQ(stats["started"], 2);
  EXPECT_EQ(stats["compensations_sent"], 2);

  auto finished = cli(app, {"saga", "cancel", id});
  EXPECT_EQ(finished.exit_code, 2);
  EXPECT_NE(finished.err.find("COMPLETED already"), std::string::npos) << finished.err;
  EXPECT_EQ(cli(app, {"saga", "show", "no-such-saga"}).exit_code, 2);
  auto unknown = cli(app, {"saga", "start", "nope"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("no saga definition named 'nope'"), std::string::npos);
  auto bad_status = cli(app, {"saga", "ls", "--status", "DONE"});
  EXPECT_EQ(bad_status.exit_code, 1);
  EXPECT_NE(bad_status.err.find("--status 'DONE'"), std::string::npos);
  auto bad_data = cli(app, {"saga", "start", "order", "--data", "[1]"});
  EXPECT_EQ(bad_data.exit_code, 1);
  EXPECT_NE(bad_data.err.find("JSON object"), std::string::npos);
}

TEST(cli_saga, mailroomd_runs_a_saga_declared_in_toml) {
  test_dir dir;
  // No service answers "charges": the one step times out (one attempt, no retries); nothing
  // completed before it, so there is nothing to undo and the saga ends COMPENSATED.
  auto path = dir.write(
      "node.toml", "[queues.charges]\n\n"
                   "[sagas.pay]\n"
                   "[[sagas.pay.steps]]\n"
                   "name = \"Charge\"\nqueue = \"charges\"\ncommand = '{\"amount\":{{amount}}}'\n"
                   "compensation = '{\"refund\":{{amount}}}'\n"
                   "timeout = \"200ms\"\nretry = { max_attempts = 1 }\n");
  node_process node{dir.file("data"), {"--config", path}};
  auto id =
      json_of(cli(node, {"saga", "start", "pay", "--json", "--data", R"({"amount":3})"}))["id"]
          .get<std::string>();
  ASSERT_TRUE(reaches(node, id, "COMPENSATED"));
  auto shown = json_of(cli(node, {"saga", "show", id, "--json"}));
  EXPECT_EQ(shown["timeline"][0]["attempts"][0]["outcome"], "timed_out");
  // The command is in the queue, with the saga attributes a service needs.
  auto got = json_of(cli(node, {"recv", "charges", "--json"}));
  EXPECT_EQ(got["body"], R"({"amount":3})");
  EXPECT_EQ(got["attributes"]["saga-step"], "Charge");
  EXPECT_EQ(got["attributes"]["saga-reply-to"], "saga.pay");
}
