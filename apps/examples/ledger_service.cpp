// example-ledger-service: exactly-once processing with a transactional service.
//
// Consumes "payments" (bodies "ACCOUNT:CENTS"), adds the amount to the account's balance in its
// own table, and sends a receipt to "receipts": the balance update, the receipt and the ack commit
// together (mailroom/transaction.hpp). Kill it with -9 at any moment, start it again, and every
// payment is counted exactly once and has exactly one receipt; tests/integration proves it.
//
//   example-ledger-service --data DIR [--listen HOST:PORT] [--slow-ms N]   serve until SIGTERM
//   example-ledger-service --data DIR --report                            print totals as JSON
//
// --slow-ms makes each payment take N ms between the handler's work and the commit, the window
// a crash test wants to hit.
#include "../serve.hpp"

#include "mailroom/error.hpp"
#include "mailroom/logging.hpp"
#include "mailroom/node.hpp"
#include "mailroom/transaction.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <charconv>
#include <iostream>
#include <thread>

namespace {

constexpr const char* schema =
    "CREATE TABLE IF NOT EXISTS balances(account TEXT PRIMARY KEY, cents INTEGER NOT NULL)";

mailroom::node_config ledger_config(const std::string& data, const std::string& listen) {
  mailroom::node_config config;
  config.data_dir = data;
  config.listen = listen;
  config.log_level = "warn";
  mailroom::queue_config payments;
  payments.name = "payments";
  payments.visibility_timeout_ms = 2'000;
  payments.retry = {100, 2.0, 1'000};
  mailroom::queue_config receipts;
  receipts.name = "receipts";
  config.queues = {payments, receipts};
  return config;
}

mailroom::outcome credit(const mailroom::envelope& m, mailroom::transaction& tx, int slow_ms) {
  auto colon = m.body.find(':');
  int64_t cents = 0;
  if (colon == std::string::npos ||
      std::from_chars(m.body.data() + colon + 1, m.body.data() + m.body.size(), cents).ec !=
          std::errc{})
    return mailroom::outcome::dead_letter("not ACCOUNT:CENTS: " + m.body);
  auto account = m.body.substr(0, colon);
  if (auto err = tx.execute("INSERT INTO balances VALUES(?1, ?2) "
                            "ON CONFLICT(account) DO UPDATE SET cents = cents + ?2",
                            {account, cents}))
    return mailroom::outcome::retry(mailroom::message_of(err));
  mailroom::outgoing_message receipt;
  receipt.body = "receipt for " + m.id;
  receipt.causation_id = m.id;
  if (auto err = tx.send("receipts", std::move(receipt)))
    return mailroom::outcome::retry(mailroom::message_of(err));
  if (slow_ms > 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(slow_ms));
  return mailroom::outcome::ack();
}

int report(mailroom::node& n) {
  auto rows = n.query("SELECT count(*), coalesce(sum(cents), 0) FROM balances", {});
  auto receipts = n.stats("receipts");
  auto payments = n.stats("payments");
  if (!rows || !receipts || !payments) {
    std::cerr << "example-ledger-service: cannot read the ledger (did it ever run?)\n";
    return 2;
  }
  std::cout << "{\"accounts\":" << std::get<int64_t>((*rows)[0][0])
            << ",\"total_cents\":" << std::get<int64_t>((*rows)[0][1])
            << ",\"receipts\":" << receipts->visible + receipts->delayed + receipts->in_flight
            << ",\"payments_left\":" << payments->visible + payments->delayed + payments->in_flight
            << "}\n";
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  auto signals = mailroom::apps::block_shutdown_signals();

  CLI::App app{"example-ledger-service: exactly-once payments with a transactional service"};
  std::string data = "./ledger-data", listen = "127.0.0.1:7412", log_level = "warn";
  bool print_report = false;
  int slow_ms = 0;
  app.add_option("--data", data, "data directory")->capture_default_str();
  app.add_option("--listen", listen, "client endpoint HOST:PORT")->capture_default_str();
  app.add_option("--log-level", log_level, "log level")->capture_default_str();
  app.add_option("--slow-ms", slow_ms, "pause before each commit")->check(CLI::Range(0, 10'000));
  app.add_flag("--report", print_report, "print the ledger's totals as JSON and exit");
  CLI11_PARSE(app, argc, argv);

  auto node = mailroom::node::open(ledger_config(data, listen));
  if (!node) {
    std::cerr << "example-ledger-service: " << mailroom::message_of(node.error()) << "\n";
    return 1;
  }
  mailroom::set_log_level(log_level);
  if (print_report) {
    return report(**node);
  }
  mailroom::transactional_options options;
  options.service = "ledger";
  options.queue = "payments";
  options.schema = {schema};
  auto service = mailroom::spawn_transactional_service(
      **node, options, [slow_ms](const mailroom::envelope& m, uint32_t, mailroom::transaction& tx) {
        return credit(m, tx, slow_ms);
      });
  if (!service) {
    std::cerr << "example-ledger-service: " << mailroom::message_of(service.error()) << "\n";
    return 1;
  }
  return mailroom::apps::serve(*node, listen, "example-ledger-service", signals);
}
