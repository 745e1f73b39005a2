// auth_string.generate, auth_string.delete, auth_string.pending, auth_string.unlock
#include <algorithm>
#include <thread>

#include "capf/admin/method_groups.hpp"
#include "capf/admin/params.hpp"
#include "capf/service/auth_string.hpp"
#include "storage/device_name.hpp"

namespace capf::admin {

using jsonrpc::Error;
using jsonrpc::ErrorCode;

namespace {

/// The devices auth_string.generate is for: one by name, or every device
/// whose name has the prefix (all of them with 'all').
std::vector<std::string> auth_string_targets(AdminContext& ctx,
                                             const std::optional<std::string>& name,
                                             const std::string& prefix) {
    std::vector<std::string> names;
    if (name) {
        names.push_back(*name);
    } else {
        storage::DeviceFilter f;
        f.name_prefix = prefix;
        std::string after;
        do {
            const auto page = ctx.devices.list_devices(f, after, max_page);
            for (const auto& d : page.devices)
                names.push_back(d.name);
            after = page.next_after;
        } while (!after.empty());
    }
    if (names.empty()) {
        throw Error(ErrorCode::not_found,
                    "no device matches; add devices first (capfctl device add)");
    }
    return names;
}

json auth_string_generate(AdminContext& ctx, const json& p) {
    const std::size_t digits =
        opt_size(p, "digits", 6, min_auth_string_length, max_auth_string_length);
    const auto value = opt_string(p, "value");
    if (value && !valid_auth_string(*value)) {
        throw Error(ErrorCode::invalid_params, "an auth string is 4 to 10 digits");
    }
    const auto name = opt_string(p, "name");
    const bool all = opt_bool(p, "all");
    const auto prefix = jsonrpc::optional_string(p, "prefix");
    if (!name && !all && prefix.empty()) {
        throw Error(ErrorCode::invalid_params,
                    "give 'name' for one device, or 'all': true or 'prefix' for many");
    }
    if (value && !name) {
        throw Error(ErrorCode::invalid_params, "a given 'value' is for one device ('name') only");
    }
    const auto names = auth_string_targets(ctx, name, prefix);
    std::vector<std::string> secrets;
    for (std::size_t i = 0; i < names.size(); ++i)
        secrets.push_back(value ? *value : random_auth_string(digits));
    // Hashing is the cost of a fleet-wide call: spread it over the cores.
    const auto hashes = hash_auth_strings(secrets, ctx.config.auth.hash_iterations,
                                          std::max(1u, std::thread::hardware_concurrency()));
    std::vector<std::pair<std::string, std::string>> stored;
    json out = json::array();
    for (std::size_t i = 0; i < names.size(); ++i) {
        stored.emplace_back(names[i], hashes[i]);
        out.push_back(
            {{"name", storage::checked_device_name(names[i])}, {"auth_string", secrets[i]}});
    }
    ctx.auth_strings.set_auth_string_hashes(stored, jsonrpc::current_caller());
    return json{{"auth_strings", out}};
}

json auth_string_delete(AdminContext& ctx, const json& p) {
    ctx.auth_strings.clear_auth_string(jsonrpc::require_string(p, "name"),
                                       jsonrpc::current_caller());
    return json{{"deleted", true}};
}

json auth_string_unlock(AdminContext& ctx, const json& p) {
    ctx.auth_strings.unlock_auth_string(jsonrpc::require_string(p, "device"),
                                        jsonrpc::current_caller());
    return json{{"unlocked", true}};
}

json auth_string_pending(AdminContext& ctx, const json& p) {
    return json{{"devices",
                 ctx.auth_strings.devices_with_auth_string(jsonrpc::optional_string(p, "prefix"))}};
}

}  // namespace

void register_auth_string_methods(AdminRegistry& registry) {
    registry.add({"auth_string.generate",
                  Role::admin,
                  "set auth strings (digits 4-10, or a given value) for one device or in bulk; "
                  "returned once",
                  {"name", "all", "prefix", "digits", "value"},
                  auth_string_generate});
    registry.add({"auth_string.delete",
                  Role::admin,
                  "remove a device's auth string",
                  {"name"},
                  auth_string_delete});
    registry.add({"auth_string.pending",
                  Role::read_only,
                  "devices with an auth string set (never the string)",
                  {"prefix"},
                  auth_string_pending});
    registry.add({"auth_string.unlock",
                  Role::admin,
                  "end a device's auth-string lockout; the string stays",
                  {"device"},
                  auth_string_unlock});
}

}  // namespace capf::admin
