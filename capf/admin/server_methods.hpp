// Admin methods that describe the server itself.
#pragma once

#include <chrono>

#include "capf/admin/jsonrpc.hpp"
#include "capf/common/config.hpp"

namespace capf {

/// Registers `server.version` and `methods` (the list of every registered
/// method with its summary, which capfctl uses for discovery).
void register_server_methods(jsonrpc::Registry& registry, const Config& config,
                             std::chrono::system_clock::time_point started_at);

}  // namespace capf
