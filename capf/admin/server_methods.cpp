#include "capf/admin/server_methods.hpp"

#include "capf/common/version.hpp"

namespace capf {

void register_server_methods(jsonrpc::Registry& registry, const Config& config,
                             std::chrono::system_clock::time_point started_at) {
    registry.add("server.version", "capfd's version, node name and uptime",
                 [node = config.node.name, started_at](const jsonrpc::json&) {
                     const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now() - started_at);
                     return jsonrpc::json{{"version", std::string(version())},
                                          {"node", node},
                                          {"uptime_seconds", uptime.count()}};
                 });
    // The registry outlives every request, so the method may refer to it.
    registry.add("methods", "every admin method with a one-line summary",
                 [&registry](const jsonrpc::json&) { return jsonrpc::json(registry.summaries()); });
    registry.accept_params("server.version", {});
    registry.accept_params("methods", {});
}

}  // namespace capf
