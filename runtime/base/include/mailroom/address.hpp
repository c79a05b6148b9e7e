// Where a node listens for clients, as the node and its clients both need it.
#pragma once

#include <cstdint>

namespace mailroom {

/// Default port of the client endpoint ("HOST" alone means HOST:7411).
constexpr uint16_t default_client_port = 7411;

} // namespace mailroom
