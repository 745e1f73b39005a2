// device.add, device.add_bulk, device.update, device.remove, device.get, device.list
#include <algorithm>

#include "capf/admin/method_groups.hpp"
#include "capf/admin/params.hpp"

namespace capf::admin {

using jsonrpc::Error;
using jsonrpc::ErrorCode;

namespace {

json device_json(const storage::DeviceRecord& d) {
    json j = {
        {"name", d.name},
        {"description", d.description},
        {"auth_mode", std::string(storage::to_text(d.auth_mode))},
        {"key_spec", d.key_spec},
        {"pending_operation", std::string(storage::to_text(d.pending_operation))},
        {"operation_status", d.operation_status
                                 ? json(std::string(storage::to_text(*d.operation_status)))
                                 : json(nullptr)},
        {"operation_reason", d.operation_reason},
        {"deadline", d.operation_deadline ? json(iso8601(*d.operation_deadline)) : json(nullptr)},
        {"auth_string_pending", d.has_auth_string},
        {"auth_locked", d.auth_locked},
        {"failed_auth_count", d.failed_auth_count},
        {"require_sudi", d.require_sudi}};
    if (d.lsc) {
        j["lsc"] = {{"serial", d.lsc->serial_hex},
                    {"not_before", iso8601(d.lsc->not_before)},
                    {"not_after", iso8601(d.lsc->not_after)},
                    {"md5", d.lsc->md5_hex}};
    } else {
        j["lsc"] = nullptr;
    }
    j["fetched_md5"] = d.fetched_md5 ? json(*d.fetched_md5) : json(nullptr);
    return j;
}

storage::DeviceRecord existing_device(AdminContext& ctx, const std::string& name) {
    auto d = ctx.devices.find_device(name);
    if (!d)
        throw Error(ErrorCode::not_found, "no device named " + name);
    return *std::move(d);
}

/// What device.add, device.update and each device of device.add_bulk accept:
/// the settings of settings_param and require_sudi.
std::vector<std::string> device_settings_params() {
    auto params = device_params();
    params.emplace_back("require_sudi");
    return params;
}

/// settings_param, and require_sudi: a given boolean, else the existing
/// device's (update), else false.
storage::DeviceSettings device_settings(const json& p, const Config& config,
                                        const std::optional<storage::DeviceRecord>& existing) {
    auto s = settings_param(p, config, existing);
    const auto given = p.find("require_sudi");
    s.require_sudi = (given != p.end() && !given->is_null()) ? opt_bool(p, "require_sudi")
                                                             : existing && existing->require_sudi;
    return s;
}

json device_add(AdminContext& ctx, const json& p) {
    return device_json(
        ctx.devices.add_device(device_settings(p, ctx.config, {}), jsonrpc::current_caller()));
}

/// The devices of a bulk add; each may carry only the fields of device.add.
std::vector<storage::DeviceSettings> bulk_devices_param(const json& p, const Config& config) {
    auto it = p.find("devices");
    if (it == p.end() || !it->is_array() || it->empty() || it->size() > max_bulk) {
        throw Error(ErrorCode::invalid_params, "parameter 'devices' must be a list of 1 to " +
                                                   std::to_string(max_bulk) + " devices");
    }
    const auto fields = device_settings_params();
    std::vector<storage::DeviceSettings> devices;
    for (const auto& d : *it) {
        if (!d.is_object())
            throw Error(ErrorCode::invalid_params, "each device must be an object");
        for (const auto& [key, v] : d.items()) {
            if (std::find(fields.begin(), fields.end(), key) == fields.end()) {
                throw Error(ErrorCode::invalid_params,
                            "unknown device field '" + key + "'; allowed: " + joined(fields));
            }
        }
        devices.push_back(device_settings(d, config, {}));
    }
    return devices;
}

json device_add_bulk(AdminContext& ctx, const json& p) {
    return json{{"added", ctx.devices.add_devices(bulk_devices_param(p, ctx.config),
                                                  jsonrpc::current_caller())}};
}

json device_update(AdminContext& ctx, const json& p) {
    const auto existing = existing_device(ctx, jsonrpc::require_string(p, "name"));
    return device_json(ctx.devices.update_device(device_settings(p, ctx.config, existing),
                                                 jsonrpc::current_caller()));
}

json device_remove(AdminContext& ctx, const json& p) {
    ctx.devices.remove_device(jsonrpc::require_string(p, "name"), jsonrpc::current_caller());
    return json{{"removed", true}};
}

json device_get(AdminContext& ctx, const json& p) {
    return device_json(existing_device(ctx, jsonrpc::require_string(p, "name")));
}

json device_list(AdminContext& ctx, const json& p) {
    const auto page =
        ctx.devices.list_devices(filter_param(p), jsonrpc::optional_string(p, "after"),
                                 opt_size(p, "limit", 100, 1, max_page));
    json devices = json::array();
    for (const auto& d : page.devices)
        devices.push_back(device_json(d));
    return json{{"devices", devices},
                {"next_after", page.next_after.empty() ? json(nullptr) : json(page.next_after)}};
}

}  // namespace

void register_device_methods(AdminRegistry& registry) {
    registry.add({"device.add", Role::admin,
                  "add a device: name, description, auth_mode, key_spec, require_sudi",
                  device_settings_params(), device_add});
    registry.add({"device.add_bulk",
                  Role::admin,
                  "add many devices: devices = [{name, ...}]; existing names are kept",
                  {"devices"},
                  device_add_bulk});
    registry.add({"device.update", Role::admin,
                  "change a device's description, auth_mode, key_spec or require_sudi",
                  device_settings_params(), device_update});
    registry.add({"device.remove", Role::admin, "remove a device", {"name"}, device_remove});
    registry.add({"device.get",
                  Role::read_only,
                  "one device with its LSC and operation",
                  {"name"},
                  device_get});
    registry.add({"device.list", Role::read_only,
                  "devices by prefix, operation, status; pages with after/limit",
                  filter_params({"after", "limit"}), device_list});
}

}  // namespace capf::admin
