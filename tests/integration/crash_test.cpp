// Durability with real processes: mailroomd is killed with SIGKILL in the middle of a stream
// of sends and acks, restarted on the same data, and drained. Every confirmed send must come
// back; no confirmed ack may.
#include "../unit/test_dir.hpp"
#include "process.hpp"

#include "mailroom/error.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <mutex>
#include <random>
#include <set>
#include <thread>

using namespace mailroom;
using namespace mailroom::test;

namespace {

queue_config crash_queue() {
  queue_config q;
  q.name = "orders";
  q.visibility_timeout_ms = 1'000;
  q.retry = {100, 1.0, 100};
  return q;
}

struct ledger {
  std::mutex mutex;                // guards the sets
  std::set<std::string> confirmed; // send replied with ids: durable
  std::set<std::string> acked;     // ack replied ok: durable
  std::set<std::string> in_doubt;  // ack sent, node died before replying: may have committed
};

void produce(const node_process& d, int round, ledger& l, std::atomic<bool>& stop) {
  auto c = d.connect();
  for (int i = 0; c && !stop; ++i) {
    std::vector<outgoing_message> batch(50);
    for (int k = 0; k < 50; ++k)
      batch[k].body =
          "r" + std::to_string(round) + "-" + std::to_string(i) + "-" + std::to_string(k);
    auto ids = c->send("orders", batch);
    if (!ids)
      return; // the node died under us: these were never confirmed
    std::lock_guard<std::mutex> guard{l.mutex};
    for (auto& m : batch)
      l.confirmed.insert(m.body);
  }
}

void consume(const node_process& d, ledger& l, std::atomic<bool>& stop) {
  auto c = d.connect();
  while (c && !stop) {
    auto got = c->receive("orders", {100, 100, 1'000});
    if (!got)
      return;
    std::vector<std::string> receipts;
    for (auto& m : *got)
      receipts.push_back(m.receipt);
    if (receipts.empty())
      continue;
    auto acks = c->ack("orders", receipts);
    if (!acks) {
      // Whether the ack committed is unknown: the message may come back or may not.
      std::lock_guard<std::mutex> guard{l.mutex};
      for (auto& m : *got)
        l.in_doubt.insert(m.message->body);
      return;
    }
    std::lock_guard<std::mutex> guard{l.mutex};
    for (size_t i = 0; i < acks->size(); ++i)
      if ((*acks)[i].error_code.empty())
        l.acked.insert((*got)[i].message->body);
  }
}

} // namespace

TEST(crash, kill_9_during_sends_and_acks_loses_no_confirmed_message_and_revives_no_ack) {
  test_dir dir;
  node_process d{dir.path()};
  ASSERT_FALSE(d.connect()->create_queue(crash_queue()));
  std::mt19937 rng{20261128};
  ledger l;
  for (int round = 0; round < 3; ++round) {
    std::atomic<bool> stop{false};
    std::thread producer([&] { produce(d, round, l, stop); });
    std::thread consumer([&] { consume(d, l, stop); });
    // The kill point varies per round; this wait is the experiment, not a synchronization.
    std::this_thread::sleep_for(std::chrono::milliseconds(150 + rng() % 400));
    d.kill_hard();
    stop = true;
    producer.join();
    consumer.join();
    d.start();
    std::lock_guard<std::mutex> guard{l.mutex};
    ASSERT_GT(l.confirmed.size(), 0u) << "round " << round << " confirmed nothing";
  }

  // Drain: every confirmed message that was neither acked nor possibly acked must come back
  // (leases end after 1 s).
  std::set<std::string> expected;
  for (const auto& body : l.confirmed)
    if (!l.acked.count(body) && !l.in_doubt.count(body))
      expected.insert(body);
  std::set<std::string> drained;
  auto c = d.connect();
  EXPECT_TRUE(eventually(
      [&] {
        auto got = c->receive("orders", {1000, 200, 60'000});
        if (!got)
          return false;
        for (auto& m : *got) {
          EXPECT_FALSE(l.acked.count(m.message->body))
              << "acked message came back: " << m.message->body;
          drained.insert(m.message->body);
        }
        return std::includes(drained.begin(), drained.end(), expected.begin(), expected.end());
      },
      std::chrono::seconds(20)))
      << expected.size() << " expected, " << drained.size() << " drained; first missing: " <<
      [&] {
        for (auto& e : expected)
          if (!drained.count(e))
            return e;
        return std::string{};
      }()
      << "; stats in_flight " << c->stats("orders")->in_flight << " delayed "
      << c->stats("orders")->delayed << " visible " << c->stats("orders")->visible;
  std::cout << "confirmed " << l.confirmed.size() << ", acked " << l.acked.size() << ", in doubt "
            << l.in_doubt.size() << ", redelivered " << drained.size() << " over 3 kills\n";
}

TEST(crash, sigterm_shuts_down_cleanly_and_keeps_everything) {
  test_dir dir;
  node_process d{dir.path()};
  auto c = d.connect();
  ASSERT_FALSE(c->create_queue(crash_queue()));
  ASSERT_TRUE(c->send("orders", std::vector<outgoing_message>(10)));
  c.reset();
  EXPECT_EQ(d.stop(), 0);
  d.start();
  auto stats = d.connect()->stats("orders");
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->visible, 10u);
}

TEST(crash, garbage_on_the_client_port_closes_that_connection_only) {
  test_dir dir;
  node_process d{dir.path()};
  auto c = d.connect();
  ASSERT_FALSE(c->create_queue(crash_queue()));
  ASSERT_TRUE(c->send("orders", std::vector<outgoing_message>(3)));
  for (const std::string& garbage :
       {std::string(64, '\xff'), std::string("GET / HTTP/1.1\r\n\r\n"),
        std::string("\x00\x00\x00\x00\xff\xff\xff\x7f", 8) + std::string(100, 'x')}) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(std::stoi(d.address().substr(10))));
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_GT(::write(fd, garbage.data(), garbage.size()), 0);
    timeval tv{0, 100'000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[64];
    // The node drops the connection rather than answering nonsense: EOF or reset.
    EXPECT_TRUE(eventually([&] {
      auto r = ::read(fd, buf, sizeof buf);
      return r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
    }));
    ::close(fd);
  }
  auto stats = c->stats("orders");
  ASSERT_TRUE(stats) << message_of(stats.error());
  EXPECT_EQ(stats->visible, 3u) << "the node kept serving and lost nothing";
}

TEST(crash, kill_9_while_dead_lettering_and_redriving_loses_no_message) {
  test_dir dir;
  node_process d{dir.path()};
  auto q = crash_queue();
  q.max_receive_count = 1;
  q.dead_letter_target = "orders-dlq";
  ASSERT_FALSE(d.connect()->create_queue(q));
  std::set<std::string> sent;
  {
    auto c = d.connect();
    for (int i = 0; i < 20; ++i) {
      std::vector<outgoing_message> batch(100);
      for (int k = 0; k < 100; ++k)
        batch[k].body = "m-" + std::to_string(i) + "-" + std::to_string(k);
      ASSERT_TRUE(c->send("orders", batch));
      for (auto& m : batch)
        sent.insert(m.body);
    }
    // Reject everything: 2,000 messages head for the sink while we pull the plug.
    for (int round = 0; round < 20; ++round) {
      auto got = c->receive("orders", {100, 0, 60'000});
      ASSERT_TRUE(got);
      for (auto& m : *got) {
        auto nacked = c->nack("orders", {{m.receipt, -1, "rejected by test", ""}});
        ASSERT_TRUE(nacked && nacked->size() == 1 && (*nacked)[0].error_code.empty());
      }
    }
  }
  d.kill_hard();
  d.start();
  // Redrive half back and kill again in the middle of it.
  std::thread redrive([&] {
    auto c = d.connect();
    redrive_request r;
    c->redrive("orders-dlq", r); // may fail when the node dies: that is the experiment
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  d.kill_hard();
  redrive.join();
  d.start();

  // Every message is somewhere: in the queue (visible again after its 1 s lease at most) or in
  // the sink. Duplicates are allowed (at-least-once), loss is not.
  auto c = d.connect();
  std::set<std::string> found;
  ASSERT_TRUE(eventually(
      [&] {
        auto dead = c->dead_letters("orders-dlq", 10'000);
        auto live = c->receive("orders", {10'000, 100, 60'000});
        if (!dead || !live)
          return false;
        for (auto& x : *dead)
          found.insert(x.message.body);
        for (auto& m : *live)
          found.insert(m.message->body);
        return std::includes(found.begin(), found.end(), sent.begin(), sent.end());
      },
      std::chrono::seconds(20)))
      << found.size() << " of " << sent.size() << " found";
}
