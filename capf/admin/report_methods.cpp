// report, audit.query
#include "capf/admin/method_groups.hpp"
#include "capf/admin/params.hpp"

namespace capf::admin {

namespace {

json report(AdminContext& ctx, const json& p) {
    json rows = json::array();
    for (const auto& r : ctx.reports.report(filter_param(p))) {
        rows.push_back(
            {{"name", r.name},
             {"lsc", r.has_lsc},
             {"serial", r.lsc_serial},
             {"not_after", r.lsc_not_after ? json(iso8601(*r.lsc_not_after)) : json(nullptr)},
             {"md5", r.lsc_md5},
             {"pending_operation", std::string(storage::to_text(r.pending_operation))},
             {"status", r.status ? json(std::string(storage::to_text(*r.status))) : json(nullptr)},
             {"reason", r.reason}});
    }
    return json{{"devices", rows}};
}

json audit_query(AdminContext& ctx, const json& p) {
    const storage::AuditQuery query{jsonrpc::optional_string(p, "device"), std::nullopt,
                                    opt_size(p, "limit", 100, 1, 10000)};
    json events = json::array();
    for (const auto& e : ctx.audit.audit_events(query)) {
        events.push_back({{"at", e.at ? json(iso8601(*e.at)) : json(nullptr)},
                          {"device", e.device},
                          {"peer", e.peer},
                          {"node", e.node},
                          {"event", e.event},
                          {"outcome", e.outcome},
                          {"detail", e.detail},
                          // >1: a rate-limited row counting repeats within its minute
                          {"count", e.repeat_count}});
    }
    return json{{"events", events}};
}

}  // namespace

void register_report_methods(AdminRegistry& registry) {
    registry.add({"report", Role::read_only,
                  "per device: LSC present, serial, expiry, MD5, pending operation and status; "
                  "expiring_days, prefix",
                  filter_params(), report});
    registry.add({"audit.query",
                  Role::read_only,
                  "audit events, newest first: device, limit",
                  {"device", "limit"},
                  audit_query});
}

}  // namespace capf::admin
