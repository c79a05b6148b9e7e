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
  caf::actor queue;
  std::string body;
  std::atomic<uint64_t> consumed{0};
  std::promise<std::string> done;
  std::atomic<bool> finished{false};

  void finish(std::string error) {
    if (!finished.exchange(true))
      done.set_value(std::move(error));
  }
};

/// `n` messages with the run's body, stamped now for end-to-end latency.
std::vector<outgoing_message> make_batch(const run_state& run, uint64_t n) {
  std::vector<outgoing_message> batch(n);
  auto stamp = unix_now_us();
  for (auto& m : batch) {
    m.body = run.body;
    m.sent_at_us = stamp;
  }
  return batch;
}

void produce(caf::event_based_actor* self, std::shared_ptr<run_state> run, uint64_t quota,
             std::shared_ptr<uint64_t> sent, std::shared_ptr<uint32_t> outstanding) {
  const auto& o = *run->o;
  while (*outstanding < o.in_flight && *sent < quota) {
    auto n = std::min<uint64_t>(o.batch, quota - *sent);
    auto batch = make_batch(*run, n);
    *sent += n;
    ++*outstanding;
    self->request(run->queue, caf::infinite, send_atom::value, std::move(batch))
        .then(
            [=](std::vector<std::string>& ids) {
              run->p->sent += ids.size();
              --*outstanding;
              produce(self, run, quota, sent, outstanding);
              if (*sent >= quota && *outstanding == 0)
                self->quit();
            },
            [=](caf::error& err) {
              run->finish("send failed: " + message_of(err));
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
          self->request(run->queue, caf::infinite, send_atom::value, std::move(batch))
              .then(
                  [=](std::vector<std::string>& ids) {
                    run->p->sent += ids.size();
                    if ((*confirmed += ids.size()) >= quota)
                      self->quit();
                  },
                  [=](caf::error& err) {
                    run->finish("send failed: " + message_of(err));
                    self->quit();
                  });
        }
        if (*sent < quota)
          self->delayed_send(self, std::chrono::milliseconds(1), pace_atom::value);
      },
  };
}

void consume(caf::event_based_actor* self, std::shared_ptr<run_state> run) {
  if (run->finished) {
    self->quit();
    return;
  }
  receive_request request{run->o->batch, 1'000, 60'000};
  self->request(run->queue, caf::infinite, receive_atom::value, request)
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
              self->request(run->queue, caf::infinite, ack_atom::value, std::move(receipts))
                  .then(
                      [=](std::vector<ack_outcome>& acks) {
                        run->p->received += acks.size();
                        if ((run->consumed += acks.size()) >= run->o->messages)
                          run->finish("");
                      },
                      [=](caf::error& err) { run->finish("ack failed: " + message_of(err)); });
            consume(self, run);
          },
          [=](caf::error& err) {
            run->finish("receive failed: " + message_of(err));
            self->quit();
          });
}

} // namespace

std::string run_embedded(const options& o, progress& p) {
  std::random_device rd;
  auto dir = std::filesystem::temp_directory_path() / ("mailroom-bench-" + std::to_string(rd()));
  node_config config;
  config.data_dir = dir.string();
  config.durable = o.durable;
  config.log_level = "warn";
  std::string error;
  {
    auto n = node::open(config);
    if (!n)
      return message_of(n.error());
    queue_config q;
    q.name = "bench";
    q.visibility_timeout_ms = 60'000;
    if (auto err = (*n)->create_queue(q))
      return message_of(err);
    auto run = std::make_shared<run_state>();
    run->o = &o;
    run->p = &p;
    run->queue = *(*n)->queue("bench");
    run->body = make_body(o.size);
    auto finished = run->done.get_future();
    for (uint32_t i = 0; i < o.consumers; ++i)
      (*n)->system().spawn([run](caf::event_based_actor* self) {
        // Several receives outstanding, so the queue always has one to answer.
        for (uint32_t k = 0; k < run->o->receives_in_flight; ++k)
          consume(self, run);
      });
    for (uint32_t i = 0; i < o.producers; ++i) {
      auto quota = o.messages / o.producers + (i < o.messages % o.producers ? 1 : 0);
      if (o.rate > 0)
        (*n)->system().spawn(paced_producer, run, quota, static_cast<double>(o.rate) / o.producers);
      else
        (*n)->system().spawn([run, quota](caf::event_based_actor* self) {
          produce(self, run, quota, std::make_shared<uint64_t>(0), std::make_shared<uint32_t>(0));
        });
    }
    error = finished.get();
  } // the node shuts down here; consumers see `finished` and quit
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return error;
}

} // namespace mailroom::bench
