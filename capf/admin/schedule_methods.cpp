// operation.schedule, operation.cancel
#include "capf/admin/method_groups.hpp"
#include "capf/admin/params.hpp"

namespace capf::admin {

using jsonrpc::Error;
using jsonrpc::ErrorCode;

namespace {

json operation_schedule(AdminContext& ctx, const json& p) {
    const auto request = schedule_param(p);
    const auto name = opt_string(p, "name");
    const bool all = opt_bool(p, "all");
    const auto prefix = jsonrpc::optional_string(p, "prefix");
    if (name && (all || !prefix.empty())) {
        throw Error(ErrorCode::invalid_params,
                    "give either 'name' or a bulk scope ('all' or 'prefix'), not both");
    }
    if (!name && !all && prefix.empty()) {
        throw Error(ErrorCode::invalid_params,
                    "give 'name' for one device, or 'all': true or 'prefix' for many");
    }
    if (name) {
        ctx.schedule.schedule_operation(*name, request, jsonrpc::current_caller());
        return json{{"scheduled", 1}};
    }
    // Here 'operation' is what to schedule, not a filter on the devices'
    // current pending operation.
    json scope = p;
    scope.erase("operation");
    return json{{"scheduled",
                 ctx.schedule.schedule_bulk(filter_param(scope), request, opt_bool(p, "override"),
                                            jsonrpc::current_caller())}};
}

json operation_cancel(AdminContext& ctx, const json& p) {
    ctx.schedule.cancel_operation(jsonrpc::require_string(p, "name"), jsonrpc::current_caller());
    return json{{"cancelled", true}};
}

}  // namespace

void register_schedule_methods(AdminRegistry& registry) {
    registry.add(
        {"operation.schedule", Role::admin,
         "schedule install/fetch/delete/none for one device (name) or in bulk (all, or "
         "prefix); auth_mode, key_spec, deadline_hours, override",
         filter_params({"name", "all", "auth_mode", "key_spec", "deadline_hours", "override"}),
         operation_schedule});
    registry.add({"operation.cancel",
                  Role::admin,
                  "cancel a device's pending operation",
                  {"name"},
                  operation_cancel});
}

}  // namespace capf::admin
