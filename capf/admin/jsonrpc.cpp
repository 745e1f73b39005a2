#include "capf/admin/jsonrpc.hpp"

#include <algorithm>
#include <optional>
#include <utility>

#include "capf/common/log.hpp"

namespace capf::jsonrpc {

void Registry::add(MethodSpec spec) {
    std::string name = spec.name;
    methods_.insert_or_assign(std::move(name), std::move(spec));
}

const MethodSpec* Registry::find(std::string_view name) const {
    auto it = methods_.find(name);
    return it == methods_.end() ? nullptr : &it->second;
}

std::map<std::string, std::string> Registry::summaries() const {
    std::map<std::string, std::string> out;
    for (const auto& [name, spec] : methods_) {
        out.emplace(name, spec.summary);
    }
    return out;
}

const char* role_name(Role role) noexcept {
    return role == Role::admin ? "admin" : "read-only";
}

std::string error_line(ErrorCode code, const std::string& message, const json& id) {
    return json{{"jsonrpc", "2.0"},
                {"id", id},
                {"error", {{"code", static_cast<int>(code)}, {"message", message}}}}
        .dump();
}

namespace {

std::string error_line_with_data(const Error& e, const json& id) {
    json error = {{"code", static_cast<int>(e.code())}, {"message", e.what()}};
    if (!e.data().is_null()) {
        error["data"] = e.data();
    }
    return json{{"jsonrpc", "2.0"}, {"id", id}, {"error", std::move(error)}}.dump();
}

/// The refusal of a method the caller's role does not reach, or nothing.
std::optional<std::string> role_refusal(const MethodSpec& method, const Caller& caller) {
    if (caller.role == Role::admin || method.needs == Role::read_only) {
        return std::nullopt;
    }
    return "method " + method.name + " needs the " + role_name(method.needs) + " role; " +
           caller.description +
           "; the admin role is for root, the service user, admin.allowed_users and members "
           "of admin.allowed_group";
}

/// The refusal of the first parameter `method` does not accept, or nothing.
std::optional<std::string> unknown_param(const MethodSpec& method, const json& params) {
    const auto& accepted = method.params;
    for (const auto& [key, value] : params.items()) {
        if (std::find(accepted.begin(), accepted.end(), key) != accepted.end())
            continue;
        std::string allowed;
        for (const auto& a : accepted)
            allowed += (allowed.empty() ? "" : ", ") + a;
        return "unknown parameter '" + key + "' for " + method.name +
               "; allowed: " + (allowed.empty() ? std::string("none") : allowed);
    }
    return std::nullopt;
}

}  // namespace

bool nested_deeper_than(std::string_view text, std::size_t limit) noexcept {
    std::size_t depth = 0;
    bool in_string = false;
    bool escaped = false;
    for (const char c : text) {
        if (in_string) {
            if (escaped) {
                escaped = false;
            } else if (c == '\\') {
                escaped = true;
            } else if (c == '"') {
                in_string = false;
            }
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > limit)
                return true;
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
    return false;
}

std::string handle_line(const Registry& registry, std::string_view line, const Caller& caller) {
    if (nested_deeper_than(line, max_json_depth)) {
        return error_line(
            ErrorCode::invalid_request,
            "the request is nested deeper than " + std::to_string(max_json_depth) + " levels");
    }
    json request;
    try {
        request = json::parse(line);
    } catch (const json::parse_error&) {
        return error_line(ErrorCode::parse_error,
                          "the request is not valid JSON; send one JSON-RPC 2.0 object per line");
    }
    if (!request.is_object()) {
        return error_line(ErrorCode::invalid_request,
                          "the request must be a JSON object (batches are not supported)");
    }
    const bool has_id = request.contains("id");
    const json id = has_id ? request["id"] : json(nullptr);
    if (has_id && !(id.is_string() || id.is_number_integer() || id.is_null())) {
        return error_line(ErrorCode::invalid_request, "\"id\" must be a string or an integer");
    }
    if (request.value("jsonrpc", "") != "2.0") {
        return error_line(ErrorCode::invalid_request, "\"jsonrpc\" must be \"2.0\"", id);
    }
    if (!request.contains("method") || !request["method"].is_string()) {
        return error_line(ErrorCode::invalid_request, "\"method\" must be a string", id);
    }
    const std::string method_name = request["method"].get<std::string>();
    json params = request.contains("params") ? request["params"] : json::object();
    if (!params.is_object()) {
        return error_line(ErrorCode::invalid_params,
                          "\"params\" must be an object of named parameters", id);
    }
    Caller effective = caller;
    if (request.contains(role_member)) {
        if (request[role_member] != role_name(Role::read_only)) {
            return error_line(ErrorCode::invalid_request,
                              std::string("\"") + role_member + "\" may only be \"" +
                                  role_name(Role::read_only) +
                                  "\" (a request can only lower its role)",
                              id);
        }
        if (effective.role != Role::read_only) {
            effective.role = Role::read_only;
            effective.description += ", lowered to read-only by the request";
        }
    }
    const MethodSpec* method = registry.find(method_name);
    if (method == nullptr) {
        return error_line(ErrorCode::method_not_found,
                          "unknown method '" + method_name + "'; the 'methods' call lists them",
                          id);
    }
    if (auto refusal = role_refusal(*method, effective)) {
        log::warn("admin_method_refused", {{"method", method_name}, {"caller", current_caller()}});
        return error_line(ErrorCode::permission_denied, *refusal, id);
    }
    if (auto refusal = unknown_param(*method, params)) {
        return error_line(ErrorCode::invalid_params, *refusal, id);
    }
    std::string response;
    try {
        json result = method->handler(params);
        response = json{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}}.dump();
    } catch (const Error& e) {
        response = error_line_with_data(e, id);
    } catch (const json::exception& e) {
        // A handler read a parameter of the wrong JSON type.
        response = error_line(ErrorCode::invalid_params,
                              "a parameter of '" + method_name + "' has the wrong type", id);
    } catch (const std::exception& e) {
        log::error("admin_method_failed", {{"method", method_name}, {"error", e.what()}});
        response = error_line(ErrorCode::internal_error,
                              "internal error in '" + method_name + "'; see the capfd log", id);
    }
    return has_id ? response : std::string();
}

namespace {
thread_local std::string caller_on_this_thread;
}  // namespace

const std::string& current_caller() noexcept {
    return caller_on_this_thread;
}
CallerScope::CallerScope(std::string caller)
    : previous_(std::exchange(caller_on_this_thread, std::move(caller))) {}
CallerScope::~CallerScope() {
    caller_on_this_thread = std::move(previous_);
}

std::string require_string(const json& params, const char* key) {
    auto it = params.find(key);
    if (it == params.end() || !it->is_string() || it->get<std::string>().empty()) {
        throw Error(ErrorCode::invalid_params, std::string("parameter '") + key +
                                                   "' is required and must be a non-empty string");
    }
    return it->get<std::string>();
}

std::string optional_string(const json& params, const char* key, std::string fallback) {
    auto it = params.find(key);
    if (it == params.end() || it->is_null()) {
        return fallback;
    }
    if (!it->is_string()) {
        throw Error(ErrorCode::invalid_params,
                    std::string("parameter '") + key + "' must be a string");
    }
    return it->get<std::string>();
}

}  // namespace capf::jsonrpc
