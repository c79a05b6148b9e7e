// example-order-saga: the order saga of docs/reference (CreateOrder, ReserveInventory,
// ProcessPayment, each with its compensation) run by Mailroom, with each step a service written
// as an actor consuming its own queue.
//
//   example-order-saga --data ./saga-data --listen 127.0.0.1:7413 [--start 100]
//   mailroom --node 127.0.0.1:7413 saga start order --data '{"customer":"c-1","amount":25}'
//   mailroom --node 127.0.0.1:7413 saga ls
//
// The services' rules, to show every path:
// - ProcessPayment declines an amount over 1000 (rejected: no retries), so the saga
//   compensates: inventory is released, then the order cancelled.
// - ReserveInventory's compensation fails while the file DATA/warehouse-offline exists; after
//   its retries the saga parks, its record goes to the sink saga.order.dead and the alarm
//   saga.order.parked alerts on the topic "alerts". Remove the file and redrive the record
//   (`mailroom dlq redrive saga.order.dead`) to resume it.
// --start N starts orders 1..N itself (idempotency keys "order-I", every fifth one declined),
// so a restart with the same N starts nothing twice. --commands FILE appends one line per
// command the services handle ("SAGA STEP do|undo ATTEMPT"), for the crash test.
#include "../serve.hpp"

#include "mailroom/error.hpp"
#include "mailroom/logging.hpp"
#include "mailroom/node.hpp"
#include "mailroom/saga.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <mutex>

namespace {

using mailroom::saga_command;
using mailroom::step_result;

mailroom::saga_definition order_saga() {
  auto d = mailroom::saga_builder{"order", 1}
               .step("CreateOrder")
               .to("orders")
               .command(R"({"type":"CreateOrder","customer":{{customer}},"amount":{{amount}}})")
               .compensation(R"({"type":"CancelOrder","order_id":{{order_id}}})")
               .timeout(std::chrono::seconds(15))
               .step("ReserveInventory")
               .to("inventory")
               .command(R"({"type":"ReserveInventory","order_id":{{order_id}}})")
               .compensation(R"({"type":"ReleaseInventory","reservation":{{reservation}}})")
               .timeout(std::chrono::seconds(15))
               .compensation_retry({3, 200, 2.0, 1'000})
               .step("ProcessPayment")
               .to("payments")
               .command(R"({"type":"ProcessPayment","order_id":{{order_id}},"amount":{{amount}}})")
               .compensation(R"({"type":"RefundPayment","payment_id":{{payment_id}}})")
               .timeout(std::chrono::seconds(15))
               .alarm_topic("alerts")
               .build();
  return *d; // a fixed, valid definition
}

mailroom::node_config saga_config(const std::string& data, const std::string& listen) {
  mailroom::node_config config;
  config.data_dir = data;
  config.listen = listen;
  config.log_level = "warn";
  for (const char* name : {"orders", "inventory", "payments", "alerts-log"}) {
    mailroom::queue_config q;
    q.name = name;
    q.visibility_timeout_ms = 5'000;
    q.retry = {200, 2.0, 2'000};
    config.queues.push_back(q);
  }
  mailroom::topic_config alerts;
  alerts.name = "alerts";
  mailroom::subscription to_log;
  to_log.queue = "alerts-log";
  alerts.subscriptions.push_back(to_log);
  config.topics = {alerts};
  config.sagas = {order_saga()};
  return config;
}

/// Appends what the services handle to a file (for the crash test).
class command_log {
public:
  explicit command_log(const std::string& path) {
    if (!path.empty())
      file_ = std::fopen(path.c_str(), "a");
  }
  ~command_log() {
    if (file_)
      std::fclose(file_);
  }
  void record(const saga_command& c) {
    if (!file_)
      return;
    std::lock_guard<std::mutex> guard{mutex_};
    std::fprintf(file_, "%s %s %s %u\n", c.saga_id.c_str(), c.step.c_str(),
                 c.compensation ? "undo" : "do", c.attempt);
    std::fflush(file_); // into the page cache: survives a kill -9 of this process
  }

private:
  std::mutex mutex_;
  std::FILE* file_ = nullptr;
};

std::string short_id(const saga_command& c) {
  return c.saga_id.substr(0, 8);
}

step_result create_order(const saga_command& c) {
  if (c.compensation)
    return step_result::ok();
  return step_result::ok(nlohmann::json{{"order_id", "o-" + short_id(c)}}.dump());
}

step_result reserve_inventory(const saga_command& c, const std::string& data_dir) {
  if (!c.compensation)
    return step_result::ok(nlohmann::json{{"reservation", "r-" + short_id(c)}}.dump());
  if (std::filesystem::exists(data_dir + "/warehouse-offline"))
    return step_result::fail("warehouse offline: cannot release the reservation");
  return step_result::ok();
}

step_result process_payment(const saga_command& c) {
  if (c.compensation)
    return step_result::ok();
  auto body = nlohmann::json::parse(c.body, nullptr, false);
  auto amount = body.is_object() ? body.value("amount", 0.0) : 0.0;
  if (amount > 1000)
    return step_result::reject("card declined: " + std::to_string(static_cast<int64_t>(amount)) +
                               " is over the limit of 1000");
  return step_result::ok(nlohmann::json{{"payment_id", "p-" + short_id(c)}}.dump());
}

caf::error start_services(mailroom::node& n, const std::string& data_dir, command_log& log) {
  using handler = std::function<step_result(const saga_command&)>;
  std::vector<std::pair<std::string, handler>> services = {
      {"orders", create_order},
      {"inventory", [data_dir](const saga_command& c) { return reserve_inventory(c, data_dir); }},
      {"payments", process_payment}};
  for (auto& [queue, rule] : services) {
    mailroom::participant_options options;
    options.queue = queue;
    auto s = mailroom::spawn_saga_participant(n, options, [&log, rule](const saga_command& c) {
      log.record(c);
      return rule(c);
    });
    if (!s)
      return std::move(s.error());
  }
  return {};
}

/// Starts orders 1..count under idempotency keys, so running it again starts nothing twice.
caf::error start_orders(mailroom::node& n, int count) {
  for (int i = 1; i <= count; ++i) {
    nlohmann::json data{{"customer", "c-" + std::to_string(i)},
                        {"amount", i % 5 == 0 ? 5000 : 10 + i}};
    auto id = n.start_saga("order", data.dump(), "order-" + std::to_string(i));
    if (!id)
      return std::move(id.error());
  }
  return {};
}

} // namespace

int main(int argc, char** argv) {
  auto signals = mailroom::apps::block_shutdown_signals();

  CLI::App app{"example-order-saga: the order saga with its three services"};
  std::string data = "./saga-data", listen = "127.0.0.1:7413", log_level = "warn", commands;
  int start = 0;
  app.add_option("--data", data, "data directory")->capture_default_str();
  app.add_option("--listen", listen, "client endpoint HOST:PORT")->capture_default_str();
  app.add_option("--log-level", log_level, "log level")->capture_default_str();
  app.add_option("--start", start, "start orders 1..N (idempotent)")
      ->check(CLI::Range(0, 1'000'000));
  app.add_option("--commands", commands, "append each handled command to this file");
  CLI11_PARSE(app, argc, argv);

  auto node = mailroom::node::open(saga_config(data, listen));
  if (!node) {
    std::cerr << "example-order-saga: " << mailroom::message_of(node.error()) << "\n";
    return 1;
  }
  mailroom::set_log_level(log_level);
  command_log log{commands};
  if (auto err = start_services(**node, data, log)) {
    std::cerr << "example-order-saga: " << mailroom::message_of(err) << "\n";
    return 1;
  }
  return mailroom::apps::serve(*node, listen, "example-order-saga", signals,
                               [&] { return start_orders(**node, start); });
}
