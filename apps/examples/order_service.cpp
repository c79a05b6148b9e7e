// An order service written as a Mailroom service: copy this file to start your own.
//
// It embeds a node, declares its queue and dead-letter sink in code, and consumes "orders"
// with a handler that returns ack, retry-after or dead-letter. A handler that throws is
// retried under the queue's backoff policy; after three deliveries the message is
// dead-lettered with the exception text as its error.
//
//   example-order-service [DATA_DIR]
#include "mailroom/error.hpp"
#include "mailroom/node.hpp"
#include "mailroom/service.hpp"

#include <atomic>
#include <chrono>
#include <iostream>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

namespace {

/// The business logic: orders look like "order-7:ok", "order-8:flaky", "order-9:poison".
class order_handler {
public:
  mailroom::outcome operator()(const mailroom::envelope& m, uint32_t receive_count) {
    auto kind = m.body.substr(m.body.find(':') + 1);
    if (kind == "invalid")
      return mailroom::outcome::dead_letter("order has no customer");
    if (kind == "flaky" && receive_count == 1)
      throw std::runtime_error("inventory service timed out"); // retried with backoff
    if (kind == "poison")
      throw std::runtime_error("cannot parse order " + m.body); // dead-lettered after 3
    if (kind == "busy" && receive_count == 1)
      return mailroom::outcome::retry_after(std::chrono::milliseconds(300), "payment busy");
    std::lock_guard<std::mutex> guard{mutex_};
    done_.insert(m.body);
    std::cout << "  processed " << m.body << " (delivery " << receive_count << ")\n";
    return mailroom::outcome::ack();
  }

  size_t processed() {
    std::lock_guard<std::mutex> guard{mutex_};
    return done_.size();
  }

private:
  std::mutex mutex_; // guards done_: handlers run on several worker threads
  std::set<std::string> done_;
};

} // namespace

int main(int argc, char** argv) {
  mailroom::node_config config;
  config.data_dir = argc > 1 ? argv[1] : "./order-service-data";
  config.log_level = "warn";
  mailroom::queue_config orders;
  orders.name = "orders";
  orders.visibility_timeout_ms = 5'000;
  orders.max_receive_count = 3;
  orders.dead_letter_target = "orders-dlq";
  orders.retry = {200, 2.0, 2'000};
  config.queues.push_back(orders);

  auto node = mailroom::node::open(config);
  if (!node) {
    std::cerr << "order-service: " << mailroom::message_of(node.error()) << "\n";
    return 1;
  }
  auto handler = std::make_shared<order_handler>();
  auto service = mailroom::spawn_service(
      **node, {.queue = "orders", .prefetch = 16, .concurrency = 2},
      [handler](const mailroom::envelope& m, uint32_t n) { return (*handler)(m, n); });
  if (!service) {
    std::cerr << "order-service: " << mailroom::message_of(service.error()) << "\n";
    return 1;
  }

  std::vector<mailroom::outgoing_message> batch;
  for (auto body : {"order-1:ok", "order-2:flaky", "order-3:busy", "order-4:invalid",
                    "order-5:poison", "order-6:ok"}) {
    mailroom::outgoing_message m;
    m.body = body;
    batch.push_back(std::move(m));
  }
  if (auto ids = (*node)->send("orders", std::move(batch)); !ids) {
    std::cerr << "order-service: " << mailroom::message_of(ids.error()) << "\n";
    return 1;
  }
  std::cout << "sent 6 orders; processing...\n";

  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    auto dead = (*node)->dead_letters("orders-dlq", 100);
    if (handler->processed() == 4 && dead && dead->size() == 2)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::cout << "dead-letter sink 'orders-dlq':\n";
  auto dead = (*node)->dead_letters("orders-dlq", 100);
  for (const auto& d : dead ? *dead : std::vector<mailroom::dead_letter>{})
    std::cout << "  " << d.message.body << ": " << d.death.reason << " after "
              << d.death.receive_count << " deliveries, error \"" << d.death.error << "\"\n";
  return handler->processed() == 4 ? 0 : 1;
}
