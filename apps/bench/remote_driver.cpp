// The remote driver: producers and consumers on their own threads, each with its own
// connection to a node's client endpoint, pipelining calls as a real client would.
#include "bench.hpp"

#include "client.capnp.h"
#include "mailroom/client.hpp"
#include "mailroom/client_endpoint.hpp"
#include "mailroom/error.hpp"
#include "mailroom/ids.hpp"

#include <capnp/ez-rpc.h>

#include <chrono>
#include <deque>
#include <thread>

namespace mailroom::bench {

namespace {

using send_promise = capnp::RemotePromise<schema::Node::SendResults>;
using ack_promise = capnp::RemotePromise<schema::Node::AckResults>;
using receive_promise = capnp::RemotePromise<schema::Node::ReceiveResults>;
using steady = std::chrono::steady_clock;

steady::duration seconds(double s) {
  return std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(s));
}

std::string status_text(schema::Status::Reader s) {
  return std::string{s.getCode().cStr()} + ": " + s.getMessage().cStr();
}

void produce(const options& o, progress& p, uint64_t quota, const std::string& body,
             steady::time_point deadline) {
  capnp::EzRpcClient rpc{o.node, default_client_port};
  auto node = rpc.getMain<schema::Node>();
  auto& ws = rpc.getWaitScope();
  std::deque<send_promise> outstanding;
  auto settle_one = [&] {
    auto r = outstanding.front().wait(ws);
    outstanding.pop_front();
    if (r.getStatus().getCode().size() > 0)
      throw std::runtime_error("send refused: " + status_text(r.getStatus()));
    p.sent += r.getIds().size();
  };
  for (uint64_t sent = 0; sent < quota && steady::now() < deadline;) {
    auto n = std::min<uint64_t>(o.batch, quota - sent);
    auto req = node.sendRequest();
    req.setQueue("bench");
    auto list = req.initMessages(static_cast<unsigned>(n));
    auto stamp = unix_now_us();
    for (unsigned i = 0; i < n; ++i) {
      list[i].setBody(
          capnp::Data::Reader{reinterpret_cast<const kj::byte*>(body.data()), body.size()});
      list[i].setSentAtUs(stamp);
    }
    outstanding.push_back(req.send());
    sent += n;
    if (outstanding.size() >= o.in_flight)
      settle_one();
  }
  while (!outstanding.empty())
    settle_one();
}

/// Past `deadline` a consumer goes on until no producer runs: a send held by the node until
/// consumers free memory must get its answer.
void consume(const options& o, progress& p, std::atomic<uint64_t>& consumed,
             steady::time_point deadline, const std::atomic<uint32_t>& producing) {
  // --consume-rate: this consumer's share, paced by what it acked since it started.
  double rate = o.consume_rate > 0 ? static_cast<double>(o.consume_rate) / o.consumers : 0;
  auto started = steady::now();
  uint64_t mine = 0;
  capnp::EzRpcClient rpc{o.node, default_client_port};
  auto node = rpc.getMain<schema::Node>();
  auto& ws = rpc.getWaitScope();
  auto next_receive = [&] {
    auto req = node.receiveRequest();
    req.setQueue("bench");
    req.setMax(o.batch);
    req.setWaitMs(200);
    req.setVisibilityMs(60'000);
    return req.send();
  };
  // Several receives outstanding, so the node always has one to answer (as in the embedded
  // driver); acks are pipelined behind them.
  std::deque<receive_promise> receives;
  std::deque<ack_promise> acks;
  auto settle_ack = [&] {
    auto r = acks.front().wait(ws);
    acks.pop_front();
    if (r.getStatus().getCode().size() > 0)
      throw std::runtime_error("ack refused: " + status_text(r.getStatus()));
    p.received += r.getResults().size();
    consumed += r.getResults().size();
  };
  for (uint32_t i = 0; i < o.receives_in_flight; ++i)
    receives.push_back(next_receive());
  while (consumed.load() < o.messages && !p.failed &&
         (steady::now() < deadline || producing.load() > 0)) {
    if (rate > 0)
      std::this_thread::sleep_until(started + seconds(static_cast<double>(mine) / rate));
    auto r = receives.front().wait(ws);
    receives.pop_front();
    receives.push_back(next_receive());
    if (r.getStatus().getCode().size() > 0)
      throw std::runtime_error("receive refused: " + status_text(r.getStatus()));
    auto now = unix_now_us();
    auto messages = r.getMessages();
    if (messages.size() == 0) {
      while (!acks.empty())
        settle_ack();
      continue;
    }
    std::vector<uint32_t> latencies;
    latencies.reserve(messages.size());
    auto ack = node.ackRequest();
    ack.setQueue("bench");
    auto receipts = ack.initReceipts(messages.size());
    for (unsigned i = 0; i < messages.size(); ++i) {
      latencies.push_back(static_cast<uint32_t>(now - messages[i].getEnvelope().getSentAtUs()));
      receipts.set(i, messages[i].getReceipt());
    }
    p.add_latencies(latencies);
    mine += messages.size();
    acks.push_back(ack.send());
    if (acks.size() >= 4)
      settle_ack();
  }
  while (!acks.empty())
    settle_ack();
  // Outstanding receives may hold leased messages; they expire harmlessly after the run.
}

} // namespace

std::string run_remote(const options& o, progress& p) {
  if (o.producers > 0) { // a drain (no producers) takes the queue as a fill left it
    auto c = client::connect(o.node);
    if (!c)
      return message_of(c.error());
    queue_config q;
    q.name = "bench";
    q.visibility_timeout_ms = 60'000;
    (*c)->delete_queue("bench"); // start empty; an unknown queue is fine here
    if (auto err = (*c)->create_queue(q))
      return message_of(err);
  }
  auto body = make_body(o.size);
  std::atomic<uint64_t> consumed{0};
  first_error error{p};
  auto guarded = [&](auto f) { return error.guard(f); };
  auto deadline =
      o.duration_s > 0 ? steady::now() + seconds(o.duration_s) : steady::time_point::max();
  std::atomic<uint32_t> producing{o.producers};
  std::vector<std::thread> threads;
  for (uint32_t i = 0; i < o.consumers; ++i)
    threads.emplace_back(guarded([&] { consume(o, p, consumed, deadline, producing); }));
  for (uint32_t i = 0; i < o.producers; ++i) {
    auto quota = o.messages / o.producers + (i < o.messages % o.producers ? 1 : 0);
    threads.emplace_back(guarded([&, quota] {
      produce(o, p, quota, body, deadline);
      --producing;
    }));
  }
  for (auto& t : threads)
    t.join();
  return error.text();
}

} // namespace mailroom::bench
