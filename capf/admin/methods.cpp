#include "capf/admin/methods.hpp"

#include <ctime>

#include "capf/admin/method_groups.hpp"

namespace capf {

std::string iso8601(std::chrono::system_clock::time_point t) {
    const std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

void register_admin_methods(jsonrpc::Registry& registry, AdminContext& context) {
    admin::AdminRegistry methods(registry, context);
    admin::register_server_methods(methods);
    admin::register_device_methods(methods);
    admin::register_schedule_methods(methods);
    admin::register_auth_string_methods(methods);
    admin::register_cert_methods(methods);
    admin::register_trust_methods(methods);
    admin::register_tftp_methods(methods);
    admin::register_tvs_methods(methods);
    admin::register_report_methods(methods);
}

}  // namespace capf
