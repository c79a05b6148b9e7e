// The smallest embedding: a node in this process, a queue, a service that handles what is sent.
// Built out of tree against the installed package; prints "handled 3" and exits 0.
#include <mailroom/error.hpp>
#include <mailroom/node.hpp>
#include <mailroom/service.hpp>

#include <atomic>
#include <chrono>
#include <iostream>
#include <thread>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: embedded_app DATA_DIR\n";
    return 1;
  }
  mailroom::node_config config;
  config.data_dir = argv[1];
  config.log_level = "warn";
  mailroom::queue_config orders;
  orders.name = "orders";
  config.queues.push_back(orders);
  auto node = mailroom::node::open(config);
  if (!node) {
    std::cerr << mailroom::message_of(node.error()) << "\n";
    return 1;
  }
  std::atomic<int> handled{0};
  mailroom::service_options options;
  options.queue = "orders";
  auto service = mailroom::spawn_service(**node, options, [&](const mailroom::envelope&, uint32_t) {
    ++handled;
    return mailroom::outcome::ack();
  });
  if (!service) {
    std::cerr << mailroom::message_of(service.error()) << "\n";
    return 1;
  }
  std::vector<mailroom::outgoing_message> batch(3);
  for (auto& m : batch)
    m.body = "hello";
  if (auto sent = (*node)->send("orders", batch); !sent) {
    std::cerr << mailroom::message_of(sent.error()) << "\n";
    return 1;
  }
  for (int i = 0; i < 1000 && handled < 3; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10)); // a real process: wall time
  std::cout << "handled " << handled << "\n";
  return handled == 3 ? 0 : 1;
}
