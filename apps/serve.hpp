// What the programs that run a node (mailroomd, the examples) share around it: shutdown signals
// and the client endpoint.
//
//   auto signals = apps::block_shutdown_signals();  // first thing in main, before threads
//   ... open the node, start services ...
//   return apps::serve(node, listen, "example-x", signals, [&] { return start_work(); });
#pragma once

#include "mailroom/client_endpoint.hpp"
#include "mailroom/error.hpp"
#include "mailroom/node.hpp"

#include <spdlog/spdlog.h>

#include <csignal>
#include <functional>
#include <iostream>
#include <memory>
#include <string>

namespace mailroom::apps {

/// Blocks SIGTERM and SIGINT in this thread and every thread started after it, so that serve()
/// can wait for them with sigwait.
inline sigset_t block_shutdown_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

/// Serves the client endpoint on `listen`, runs `after_start` (if any), then waits for SIGTERM
/// or SIGINT and shuts the endpoint and the node down. Returns the process's exit code.
inline int serve(std::unique_ptr<node>& n, const std::string& listen, const std::string& name,
                 const sigset_t& signals, const std::function<caf::error()>& after_start = {}) {
  auto endpoint = client_endpoint::start(*n, listen, n->config().http);
  if (!endpoint) {
    std::cerr << name << ": " << message_of(endpoint.error()) << "\n";
    return 1;
  }
  spdlog::warn("{} ready: data in {}, client endpoint on port {}", name, n->config().data_dir,
               (*endpoint)->port());
  if (after_start)
    if (auto err = after_start()) {
      std::cerr << name << ": " << message_of(err) << "\n";
      return 1;
    }
  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("{} received {}: shutting down", name, sig == SIGTERM ? "SIGTERM" : "SIGINT");
  endpoint->reset(); // no new requests
  n.reset();         // actors stop, the journal commits what it holds
  spdlog::info("{} stopped", name);
  return 0;
}

} // namespace mailroom::apps
