// `mailroom router ...` and `mailroom alarm ...` against a real mailroomd: create, ls, show
// (text and --json), delete, what a router does with messages sent through it, and the errors a
// careless caller gets.
#include "cli_fixture.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace mailroom::test;

namespace {

using cli_router_alarm = cli_test;

TEST_F(cli_router_alarm, router_create_ls_show_route_replace_and_delete) {
  for (auto q : {"big", "rest"})
    ASSERT_EQ(mailroom({"queue", "create", q}).exit_code, 0);
  auto created = mailroom({"router", "create", "by-size", "--rule",
                           R"(queue:big={"size": ["large"]})", "--default", "queue:rest"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_EQ(mailroom({"router", "ls"}).out, "by-size\n");
  EXPECT_EQ(lines(mailroom({"router", "ls", "--json"}).out)[0].at("name"), "by-size");

  auto shown = mailroom({"router", "show", "by-size"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_NE(shown.out.find("default:"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find(R"(1. queue:big)"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find(R"(attributes {"size": ["large"]})"), std::string::npos) << shown.out;
  auto j = lines(mailroom({"router", "show", "by-size", "--json"}).out);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0].at("name"), "by-size");
  EXPECT_EQ(j[0].at("default"), "queue:rest");
  EXPECT_EQ(j[0].at("all_match"), false);
  EXPECT_EQ(j[0].at("dead_letter"), "by-size-unroutable");
  ASSERT_EQ(j[0].at("rules").size(), 1u);
  EXPECT_EQ(j[0]["rules"][0].at("to"), "queue:big");
  EXPECT_EQ(j[0]["rules"][0].at("match"), R"({"size": ["large"]})");
  EXPECT_EQ(j[0]["rules"][0].at("scope"), "attributes");

  auto routed = mailroom({"route", "by-size", "--attr", "size=large", "--json", "one"});
  ASSERT_EQ(routed.exit_code, 0) << routed.err;
  auto r = lines(routed.out);
  EXPECT_EQ(r.at(0).at("routed"), 1);
  EXPECT_EQ(r.at(0).at("copies"), 1);
  EXPECT_EQ(r.at(0).at("unroutable"), 0);
  auto batch = mailroom({"route", "by-size", "-"}, "two\nthree\n");
  ASSERT_EQ(batch.exit_code, 0) << batch.err;
  EXPECT_EQ(batch.out, "routed 2 messages as 2 copies; 0 unroutable (dead-lettered)\n");
  EXPECT_EQ(lines(mailroom({"queue", "stats", "big", "--json"}).out)[0].at("visible"), 1);
  EXPECT_EQ(lines(mailroom({"queue", "stats", "rest", "--json"}).out)[0].at("visible"), 2)
      << "messages no rule takes go to the default";
  auto nowhere = mailroom({"route", "no-such-router", "x"});
  EXPECT_EQ(nowhere.exit_code, 2);
  EXPECT_EQ(nowhere.err, "mailroom: no router named 'no-such-router'\n");

  // Creating again replaces: now every rule's target, and the body decides.
  auto replaced =
      mailroom({"router", "create", "by-size", "--match-body", "--all-match", "--rule",
                R"(queue:big={"size": ["large"]})", "--rule", R"(queue:rest={"size": ["small"]})"});
  ASSERT_EQ(replaced.exit_code, 0) << replaced.err;
  auto again = lines(mailroom({"router", "show", "by-size", "--json"}).out);
  EXPECT_EQ(again[0].at("all_match"), true);
  EXPECT_EQ(again[0].at("default"), "");
  EXPECT_EQ(again[0]["rules"][1].at("scope"), "body");

  ASSERT_EQ(mailroom({"router", "delete", "by-size"}).exit_code, 0);
  EXPECT_EQ(mailroom({"router", "ls"}).out, "");
  auto gone = mailroom({"router", "show", "by-size"});
  EXPECT_EQ(gone.exit_code, 2);
  EXPECT_EQ(gone.err, "mailroom: no router named 'by-size'\n");
  EXPECT_EQ(mailroom({"queue", "ls"}).out, "big\nrest\n") << "deleting a router keeps its targets";
}

TEST_F(cli_router_alarm, router_mistakes_are_named) {
  // Parsed by the CLI: usage errors, exit 1, before the node is reached.
  auto no_eq = mailroom({"router", "create", "r", "--rule", "queue:big"});
  EXPECT_EQ(no_eq.exit_code, 1);
  EXPECT_NE(no_eq.err.find("is not TARGET=POLICY"), std::string::npos) << no_eq.err;
  auto bad_kind = mailroom({"router", "create", "r", "--rule", R"(bucket:big={"a": ["b"]})"});
  EXPECT_EQ(bad_kind.exit_code, 1);
  EXPECT_NE(bad_kind.err.find("'bucket:big' is not queue:NAME, topic:NAME or router:NAME"),
            std::string::npos)
      << bad_kind.err;
  // Checked by the node: refusals, exit 2, naming the router and the rule.
  auto missing = mailroom({"router", "create", "r", "--rule", R"(queue:nowhere={"a": ["b"]})"});
  EXPECT_EQ(missing.exit_code, 2) << missing.err;
  EXPECT_NE(missing.err.find("nowhere"), std::string::npos) << missing.err;
  ASSERT_EQ(mailroom({"queue", "create", "big"}).exit_code, 0);
  auto bad_policy = mailroom({"router", "create", "r", "--rule", "queue:big={not json"});
  EXPECT_EQ(bad_policy.exit_code, 2);
  EXPECT_NE(bad_policy.err.find("router 'r': rule 1"), std::string::npos) << bad_policy.err;
  auto self = mailroom({"router", "create", "r", "--rule", R"(router:r={"a": ["b"]})"});
  EXPECT_EQ(self.exit_code, 2);
  EXPECT_NE(self.err.find("routes to the router itself"), std::string::npos) << self.err;
  EXPECT_EQ(mailroom({"router", "ls"}).out, "") << "nothing refused was created";
  EXPECT_EQ(mailroom({"router", "delete", "r"}).exit_code, 2);
}

TEST_F(cli_router_alarm, alarm_create_ls_show_delete) {
  ASSERT_EQ(mailroom({"queue", "create", "orders"}).exit_code, 0);
  ASSERT_EQ(mailroom({"topic", "create", "alerts"}).exit_code, 0);
  auto created = mailroom({"alarm", "create", "backlog", "--on", "queue:orders", "--metric",
                           "visible", "--above", "100", "--for", "2m", "--topic", "alerts"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_EQ(mailroom({"alarm", "ls"}).out, "backlog\n");

  auto shown = mailroom({"alarm", "show", "backlog"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_NE(shown.out.find("firing:"), std::string::npos) << shown.out;
  auto j = lines(mailroom({"alarm", "show", "backlog", "--json"}).out);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0].at("entity"), "queue:orders");
  EXPECT_EQ(j[0].at("metric"), "visible");
  EXPECT_EQ(j[0].at("threshold"), 100.0);
  EXPECT_EQ(j[0].at("for"), "2m");
  EXPECT_EQ(j[0].at("check_every"), "1s");
  EXPECT_EQ(j[0].at("topic"), "alerts");
  EXPECT_EQ(j[0].at("firing"), false);
  EXPECT_EQ(j[0].at("fire_when"), "above");

  auto quiet = mailroom({"alarm", "create", "quiet", "--on", "queue:orders", "--metric", "sent",
                         "--below", "1", "--window", "5m", "--topic", "alerts"});
  ASSERT_EQ(quiet.exit_code, 0) << quiet.err;
  auto q = lines(mailroom({"alarm", "show", "quiet", "--json"}).out);
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q[0].at("fire_when"), "below");
  EXPECT_EQ(q[0].at("window"), "5m");
  EXPECT_EQ(mailroom({"alarm", "create", "x", "--on", "queue:orders", "--metric", "sent", "--topic",
                      "alerts"})
                .exit_code,
            1)
      << "--above or --below";
  ASSERT_EQ(mailroom({"alarm", "delete", "quiet"}).exit_code, 0);

  ASSERT_EQ(mailroom({"alarm", "delete", "backlog"}).exit_code, 0);
  EXPECT_EQ(mailroom({"alarm", "ls"}).out, "");
  auto gone = mailroom({"alarm", "show", "backlog"});
  EXPECT_EQ(gone.exit_code, 2);
  EXPECT_EQ(gone.err, "mailroom: no alarm named 'backlog'\n");
}

TEST_F(cli_router_alarm, alarm_mistakes_are_named) {
  ASSERT_EQ(mailroom({"topic", "create", "alerts"}).exit_code, 0);
  auto base = [](std::vector<std::string> extra) {
    std::vector<std::string> args{"alarm",        "create",  "a",     "--on",
                                  "queue:orders", "--topic", "alerts"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  auto nan = mailroom(base({"--metric", "visible", "--above", "nan"}));
  EXPECT_EQ(nan.exit_code, 2);
  EXPECT_NE(nan.err.find("alarm 'a': threshold must be a finite number"), std::string::npos)
      << nan.err;
  auto metric = mailroom(base({"--metric", "depth", "--above", "1"}));
  EXPECT_EQ(metric.exit_code, 2);
  EXPECT_NE(metric.err.find("metric 'depth' is not one of a queue's"), std::string::npos)
      << metric.err;
  auto duration = mailroom(base({"--metric", "visible", "--above", "1", "--for", "soon"}));
  EXPECT_EQ(duration.exit_code, 1);
  EXPECT_NE(duration.err.find("alarm 'a': --for"), std::string::npos) << duration.err;
  auto no_topic = mailroom({"alarm", "create", "a", "--on", "queue:orders", "--metric", "visible",
                            "--above", "1", "--topic", "nowhere"});
  EXPECT_EQ(no_topic.exit_code, 2);
  EXPECT_NE(no_topic.err.find("nowhere"), std::string::npos) << no_topic.err;
  EXPECT_EQ(mailroom({"alarm", "ls"}).out, "") << "nothing refused was created";
}

} // namespace
