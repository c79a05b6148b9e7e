// The embedded driver: a node in this process, producers and consumers as CAF actors talking
// to the queue actor directly, as a service in an embedded node would.
#include "bench.hpp"

#include "mailroom/error.hpp"
#include "mailroom/ids.hpp"
#include "mailroom/node.hpp"
#include "mailroom/protocol.hpp"

#include <caf/event_based_actor.hpp>

#include <chrono>
#include <filesystem>
#include <future>
#include <random>

namespace mailroom::bench {

namespace {

struct run_state {
  const options* o;
  progress* p;
  caf::actor target;                   ///< the topic (fanout); queue: none, batches go to `queues`
  std::vector<caf::actor> queues;      ///< drained by the consumers
  std::atomic<uint64_t> next_queue{0}; ///< queue: where the next batch goes (round robin)
  uint64_t expected = 0;               ///< deliveries to consume: messages × subscribers
  std::atomic<uint64_t> next_dedup_id{0};
  std::string body;
  std::atomic<uint64_t> consumed{0};
  std::promise<std::string> done;
  std::atomic<bool> finished{false};

  void finish(std::string error) {
    if (!finished.exchange(true))
      done.set_value(std::move(error));
  }
};

/// `n` messages with the run's body, stamped now for end-to-end latency; with --dedup, each
/// with a dedup id of its own (what an idempotent producer sends).
std::vector<outgoing_message> make_batch(run_state& run, uint64_t n) {
  std::vector<outgoing_message> batch(n);
  auto stamp = unix_now_us();
  auto first_id = run.o->dedup ? run.next_dedup_id.fetch_add(n) : 0;
  for (auto& m : batch) {
    m.body = run.body;
    m.sent_at_us = stamp;
    if (run.o->dedup)
      m.dedup_id = "bench-" + std::to_string(first_id++);
  }
  return batch;
}

/// Sends a batch to the queue, or publishes it to the topic; `then` gets how many were taken.
template <class Then>
void send_batch(caf::event_based_actor* self, const std::shared_ptr<run_state>& run,
                std::vector<outgoing_message> batch, Then then) {
  auto failed = [self, run](caf::error& err) {
    run->finish("send failed: " + message_of(err));
    self->quit();
  };
  if (run->o->scenario == "fanout")
    self->request(run->target, caf::infinite, publish_atom::value, std::move(batch))
        .then([then](publish_result& r) mutable { then(r.ids.size()); }, failed);
  else
    self->request(run->queues[run->next_queue++ % run->queues.size()], caf::infinite,
                  send_atom::value, std::move(batch))
        .then([then](std::vector<std::string>& ids) mutable { then(ids.size()); }, failed);
}

void produce(caf::event_based_actor* self, std::shared_ptr<run_state> run, uint64_t quota,
             std::shared_ptr<uint64_t> sent, std::shared_ptr<uint32_t> outstanding) {
  const auto& o = *run->o;
  while (*outstanding < o.in_flight && *sent < quota) {
    auto n = std::min<uint64_t>(o.batch, quota - *sent);
    auto batch = make_batch(*run, n);
    *sent += n;
    ++*outstanding;
    send_batch(self, run, std::move(batch), [=](size_t taken) {
      run->p->sent += taken;
      --*outstanding;
      produce(self, run, quota, sent, outstanding);
      if (*sent >= quota && *outstanding == 0)
        self->quit();
    });
  }
}

using pace_atom = caf::atom_constant<caf::atom("pace")>;

/// A producer at a fixed rate: every millisecond it sends what the rate owes so far, as one
/// batch. Measures latency at a given load rather than under saturation.
caf::behavior paced_producer(caf::event_based_actor* self, std::shared_ptr<run_state> run,
                             uint64_t quota, double rate_per_s) {
  auto start = std::chrono::steady_clock::now();
  auto sent = std::make_shared<uint64_t>(0);
  auto confirmed = std::make_shared<uint64_t>(0);
  self->send(self, pace_atom::value);
  return {
      [=](pace_atom) {
        auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start);
        auto owed = std::min<uint64_t>(quota, static_cast<uint64_t>(elapsed.count() * rate_per_s));
        if (owed > *sent) {
          auto batch = make_batch(*run, std::min<uint64_t>(owed - *sent, run->o->batch));
          *sent += batch.size();
          send_batch(self, run, std::move(batch), [=](size_t taken) {
            run->p->sent += taken;
            if ((*confirmed += taken) >= quota)
              self->quit();
          });
        }
        if (*sent < quota)
          self->delayed_send(self, std::chrono::milliseconds(1), pace_atom::value);
      },
  };
}

void consume(caf::event_based_actor* self, std::shared_ptr<run_state> run, caf::actor queue) {
  if (run->finished) {
    self->quit();
    return;
  }
  receive_request request{run->o->batch, 1'000, 60'000};
  self->request(queue, caf::infinite, receive_atom::value, request)
      .then(
          [=](std::vector<delivery>& batch) {
            auto now = unix_now_us();
            std::vector<uint32_t> latencies;
            std::vector<std::string> receipts;
            latencies.reserve(batch.size());
            receipts.reserve(batch.size());
            for (auto& d : batch) {
              latencies.push_back(static_cast<uint32_t>(now - d.message->sent_at_us));
              receipts.push_back(std::move(d.receipt));
            }
            run->p->add_latencies(latencies);
            if (!receipts.empty())
              self->request(queue, caf::infinite, ack_atom::value, std::move(receipts))
                  .then(
                      [=](std::vector<ack_outcome>& acks) {
                        run->p->received += acks.size();
                        if ((run->consumed += acks.size()) >= run->expected)
                          run->finish("");
                      },
                      [=](caf::error& err) { run->finish("ack failed: " + message_of(err)); });
            consume(self, run, queue);
          },
          [=](caf::error& err) {
            run->finish("receive failed: " + message_of(err));
            self->quit();
          });
}

/// queue: queue "bench" (--queues N: bench-0..N-1). fanout: topic "bench" with raw
/// subscriptions bench-0..N-1.
caf::error setup(node& n, run_state& run) {
  const auto& o = *run.o;
  auto make_queue = [&](std::string name) -> caf::error {
    queue_config q;
    q.name = std::move(name);
    q.visibility_timeout_ms = 60'000;
    if (auto err = n.create_queue(q))
      return err;
    run.queues.push_back(*n.queue(q.name));
    return {};
  };
  if (o.scenario == "queue") {
    for (uint32_t i = 0; i < o.queues; ++i)
      if (auto err = make_queue(o.queues == 1 ? "bench" : "bench-" + std::to_string(i)))
        return err;
    run.expected = o.messages;
    return {};
  }
  topic_config topic{"bench", {}};
  for (uint32_t i = 0; i < o.subscribers; ++i) {
    auto name = "bench-" + std::to_string(i);
    if (auto err = make_queue(name))
      return err;
    subscription s;
    s.queue = name;
    s.raw = true;
    topic.subscriptions.push_back(std::move(s));
  }
  if (auto err = n.create_topic(topic))
    return err;
  run.target = *n.topic("bench");
  run.expected = o.messages * o.subscribers;
  return {};
}

} // namespace

std::string with_temporary_node(const options& o, const std::function<std::string(node&)>& run) {
  std::random_device rd;
  auto dir = std::filesystem::temp_directory_path() / ("mailroom-bench-" + std::to_string(rd()));
  node_config config;
  config.data_dir = dir.string();
  config.durable = o.durable;
  config.trace = o.trace;
  config.worker_threads = o.workers;
  if (o.queue_cache > 0)
    config.queue_cache_bytes = o.queue_cache;
  config.log_level = "warn";
  std::string error;
  if (auto n = node::open(config))
    error = run(**n); // the node shuts down at the end of this statement
  else
    error = message_of(n.error());
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return error;
}

std::string run_embedded(const options& o, progress& p) {
  return with_temporary_node(o, [&](node& n) -> std::string {
    auto run = std::make_shared<run_state>();
    run->o = &o;
    run->p = &p;
    run->body = make_body(o.size);
    if (auto err = setup(n, *run))
      return message_of(err);
    auto finished = run->done.get_future();
    p.start_clock(); // creating 10,000 queues is not what this measures
    // Consumers per queue; several receives outstanding each, so a queue always has one to
    // answer. They see `finished` and quit when the node shuts down.
    for (const auto& queue : run->queues)
      for (uint32_t i = 0; i < o.consumers; ++i)
        n.system().spawn([run, queue](caf::event_based_actor* self) {
          for (uint32_t k = 0; k < run->o->receives_in_flight; ++k)
            consume(self, run, queue);
        });
    for (uint32_t i = 0; i < o.producers; ++i) {
      auto quota = o.messages / o.producers + (i < o.messages % o.producers ? 1 : 0);
      if (o.rate > 0)
        n.system().spawn(paced_producer, run, quota, static_cast<double>(o.rate) / o.producers);
      else
        n.system().spawn([run, quota](caf::event_based_actor* self) {
          produce(self, run, quota, std::make_shared<uint64_t>(0), std::make_shared<uint32_t>(0));
        });
    }
    return finished.get();
  });
}

} // namespace mailroom::bench
