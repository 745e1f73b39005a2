#include "capf/admin/params.hpp"

#include <chrono>

#include "ca/key_spec.hpp"

namespace capf::admin {

using jsonrpc::Error;
using jsonrpc::ErrorCode;

std::string joined(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items)
        out += (out.empty() ? "" : ", ") + item;
    return out;
}

std::optional<std::string> opt_string(const json& p, const char* key) {
    const std::string s = jsonrpc::optional_string(p, key);
    return s.empty() ? std::nullopt : std::optional<std::string>(s);
}

std::size_t opt_size(const json& p, const char* key, std::size_t fallback, std::size_t min,
                     std::size_t max) {
    auto it = p.find(key);
    if (it == p.end() || it->is_null())
        return fallback;
    if (!it->is_number_unsigned() || it->get<std::size_t>() < min || it->get<std::size_t>() > max) {
        throw Error(ErrorCode::invalid_params,
                    std::string("parameter '") + key + "' must be a whole number from " +
                        std::to_string(min) + " to " + std::to_string(max));
    }
    return it->get<std::size_t>();
}

bool opt_bool(const json& p, const char* key) {
    auto it = p.find(key);
    if (it == p.end() || it->is_null())
        return false;
    if (!it->is_boolean())
        throw Error(ErrorCode::invalid_params,
                    std::string("parameter '") + key + "' must be true or false");
    return it->get<bool>();
}

std::string key_spec_param(const std::string& text) {
    if (!ca::parse_key_spec(text)) {
        throw Error(ErrorCode::invalid_params, "key spec '" + text + "' is not one of: " +
                                                   ca::key_spec_list(ca::phone_key_specs()));
    }
    return text;
}

ca::TrustRole trust_role_param(const std::string& text) {
    if (const auto role = ca::parse_trust_role(text))
        return *role;
    std::string names;
    for (const auto role : ca::all_trust_roles)
        names += (names.empty() ? "" : ", ") + std::string(ca::trust_role_name(role));
    throw Error(ErrorCode::invalid_params, "role must be one of " + names + ", not '" + text + "'");
}

std::vector<std::string> filter_params(std::vector<std::string> extra) {
    std::vector<std::string> out = {"prefix", "operation", "status", "expiring_days"};
    out.insert(out.end(), extra.begin(), extra.end());
    return out;
}

storage::DeviceFilter filter_param(const json& p) {
    storage::DeviceFilter f;
    f.name_prefix = jsonrpc::optional_string(p, "prefix");
    if (auto op = opt_string(p, "operation"))
        f.operation = storage::parse_operation(*op);
    if (auto st = opt_string(p, "status"))
        f.status = storage::parse_operation_status(*st);
    if (p.contains("expiring_days")) {
        const auto days = opt_size(p, "expiring_days", 0, 0, 3650);
        f.lsc_expiring_before = std::chrono::system_clock::now() + std::chrono::hours(24) * days;
    }
    return f;
}

std::vector<std::string> device_params() {
    return {"name", "description", "auth_mode", "key_spec"};
}

storage::DeviceSettings settings_param(const json& p, const Config& config,
                                       const std::optional<storage::DeviceRecord>& existing) {
    storage::DeviceSettings s;
    s.name = jsonrpc::require_string(p, "name");
    s.description =
        jsonrpc::optional_string(p, "description", existing ? existing->description : "");
    s.auth_mode = storage::parse_auth_mode(jsonrpc::optional_string(
        p, "auth_mode",
        existing ? std::string(storage::to_text(existing->auth_mode)) : config.auth.default_mode));
    s.key_spec = key_spec_param(jsonrpc::optional_string(
        p, "key_spec", existing ? existing->key_spec : config.lsc.default_key_spec.text()));
    return s;
}

storage::ScheduleRequest schedule_param(const json& p) {
    storage::ScheduleRequest r;
    r.operation = storage::parse_operation(jsonrpc::require_string(p, "operation"));
    if (auto mode = opt_string(p, "auth_mode"))
        r.auth_mode = storage::parse_auth_mode(*mode);
    if (auto spec = opt_string(p, "key_spec"))
        r.key_spec = key_spec_param(*spec);
    if (p.contains("deadline_hours")) {
        r.deadline = std::chrono::system_clock::now() +
                     std::chrono::hours(opt_size(p, "deadline_hours", 0, 1, 24 * 365));
    }
    return r;
}

}  // namespace capf::admin
