// mailroom-bench service: a transactional service in the node, like example-ledger-service:
// each message updates one row of the service's own table and sends one message, in one journal
// transaction with its inbox entry (mailroom/transaction.hpp). Producers send to "payments"
// (--batch per call, --in-flight calls each); msgs/s counts messages the service committed and
// acked; latency is each message's send to the service's commit of its receipt.
#include "bench.hpp"

#include "mailroom/error.hpp"
#include "mailroom/ids.hpp"
#include "mailroom/node.hpp"
#include "mailroom/transaction.hpp"

#include <cstdio>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

namespace mailroom::bench {

namespace {

caf::error setup(node& n) {
  for (const char* name : {"payments", "receipts"}) {
    queue_config q;
    q.name = name;
    q.visibility_timeout_ms = 60'000;
    if (auto err = n.create_queue(q))
      return err;
  }
  transactional_options options;
  options.service = "ledger";
  options.queue = "payments";
  options.prefetch = 1'000;
  options.schema = {"CREATE TABLE IF NOT EXISTS balances(account TEXT PRIMARY KEY, "
                    "cents INTEGER NOT NULL)"};
  auto s =
      spawn_transactional_service(n, options, [](const envelope& m, uint32_t, transaction& tx) {
        if (auto err = tx.execute("INSERT INTO balances VALUES(?1, 1) "
                                  "ON CONFLICT(account) DO UPDATE SET cents = cents + 1",
                                  {m.body.substr(0, 8)}))
          return outcome::retry(message_of(err));
        outgoing_message receipt;
        receipt.body = "receipt";
        receipt.causation_id = m.id;
        receipt.sent_at_us = m.sent_at_us; // so the receipt carries the payment's send time
        if (auto err = tx.send("receipts", std::move(receipt)))
          return outcome::retry(message_of(err));
        return outcome::ack();
      });
  return s ? caf::error{} : std::move(s.error());
}

} // namespace

std::string run_service(const options& o, progress& p) {
  return with_temporary_node(o, [&](node& n) -> std::string {
    if (auto err = setup(n))
      return message_of(err);
    std::atomic<bool> failed{false};
    std::string error;
    std::mutex error_mutex;
    auto fail = [&](std::string why) {
      std::lock_guard<std::mutex> guard{error_mutex};
      if (error.empty())
        error = std::move(why);
      failed = true;
    };
    auto body = make_body(std::max<uint32_t>(o.size, 9)); // "ACCOUNT8:" and more
    std::vector<std::thread> producers;
    for (uint32_t i = 0; i < o.producers; ++i) {
      auto quota = o.messages / o.producers + (i < o.messages % o.producers ? 1 : 0);
      producers.emplace_back([&, quota, i] {
        std::deque<std::future<caf::expected<std::vector<std::string>>>> outstanding;
        auto settle_one = [&] {
          auto ids = outstanding.front().get();
          outstanding.pop_front();
          if (!ids)
            fail(message_of(ids.error()));
          else
            p.sent += ids->size();
        };
        for (uint64_t sent = 0; sent < quota && !failed;) {
          auto count = std::min<uint64_t>(o.batch, quota - sent);
          std::vector<outgoing_message> batch(count);
          auto stamp = unix_now_us();
          for (uint64_t k = 0; k < count; ++k) {
            batch[k].body = body;
            // 1,000 accounts: the row updates contend as a real ledger's would.
            std::snprintf(batch[k].body.data(), 9, "%08llu",
                          static_cast<unsigned long long>((i * 7919 + sent + k) % 1000));
            batch[k].body[8] = ':';
            batch[k].sent_at_us = stamp;
          }
          outstanding.push_back(
              std::async(std::launch::async, [&n, b = std::move(batch)]() mutable {
                return n.send("payments", std::move(b));
              }));
          sent += count;
          if (outstanding.size() >= o.in_flight)
            settle_one();
        }
        while (!outstanding.empty())
          settle_one();
      });
    }
    // The receipts queue counts what the service committed; drain it for the latencies.
    uint64_t done = 0;
    while (!failed && done < o.messages) {
      auto got = n.receive("receipts", {1'000, 100, -1});
      if (!got) {
        fail(message_of(got.error()));
        break;
      }
      if (got->empty())
        continue;
      auto now = unix_now_us();
      std::vector<uint32_t> latencies;
      std::vector<std::string> receipts;
      for (auto& d : *got) {
        latencies.push_back(static_cast<uint32_t>(now - d.message->sent_at_us));
        receipts.push_back(d.receipt);
      }
      p.add_latencies(latencies);
      if (auto acked = n.ack("receipts", receipts); !acked)
        fail(message_of(acked.error()));
      done += got->size();
      p.received = done;
    }
    for (auto& t : producers)
      t.join();
    print_journal_stats(n);
    if (!failed) {
      auto rows = n.query("SELECT coalesce(sum(cents), 0) FROM balances", {});
      if (!rows)
        return message_of(rows.error());
      auto total = static_cast<uint64_t>(std::get<int64_t>((*rows)[0][0]));
      if (total != o.messages)
        return "the ledger counts " + std::to_string(total) + " payments, " +
               std::to_string(o.messages) + " were sent";
    }
    return error;
  });
}

} // namespace mailroom::bench
