// GET /metrics: the node in the Prometheus text format (version 0.0.4), for a scraper and for
// `promtool check metrics`. Blocking (it asks every queue, sink and topic actor and reads the
// saga and journal counters), so the HTTP face runs it on the bridge's workers.
#pragma once

#include <cstdint>
#include <string>

namespace mailroom {

class node;

/// Connections open now on the node's two faces (read on their event loop).
struct connection_counts {
  uint32_t client = 0;
  uint32_t http = 0;
};

std::string prometheus_metrics(node& n, connection_counts connections);

} // namespace mailroom
