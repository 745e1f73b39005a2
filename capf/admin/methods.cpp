#include "capf/admin/methods.hpp"

#include <botan/base64.h>
#include <botan/pkix_types.h>

#include <cctype>
#include <ctime>
#include <thread>

#include "ca/error.hpp"
#include "ca/fingerprint.hpp"
#include "ca/names.hpp"
#include "capf/common/version.hpp"
#include "capf/service/auth_string.hpp"
#include "capf/service/trust_loader.hpp"
#include "storage/error.hpp"

namespace capf {

using jsonrpc::Error;
using jsonrpc::ErrorCode;
using jsonrpc::json;
using storage::StorageErrc;
using storage::StorageError;

std::string iso8601(std::chrono::system_clock::time_point t) {
    const std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

namespace {

constexpr std::size_t max_page = 1000;
constexpr std::size_t max_bulk = 100000;

/// Runs a storage call, turning its typed errors into JSON-RPC errors that
/// say what was wrong (nothing was changed: every call is one transaction).
template <typename F>
auto storage_call(F&& f) -> decltype(f()) {
    try {
        return f();
    } catch (const StorageError& e) {
        switch (e.code()) {
            case StorageErrc::invalid_device_name:
            case StorageErrc::invalid_value:
                throw Error(ErrorCode::invalid_params, e.what());
            case StorageErrc::not_found:
                throw Error(ErrorCode::not_found, e.what());
            case StorageErrc::already_exists:
            case StorageErrc::conflict:
            case StorageErrc::lease_lost:
                throw Error(ErrorCode::conflict, e.what());
            case StorageErrc::unreachable:
            case StorageErrc::pool_exhausted:
                throw Error(ErrorCode::unavailable, e.what());
        }
        throw;
    }
}

ca::TrustRole trust_role_param(const json& p) {
    const std::string role = jsonrpc::require_string(p, "role");
    if (role == "lsc-issuer")
        return ca::TrustRole::lsc_issuer;
    if (role == "mic-root")
        return ca::TrustRole::mic_root;
    throw Error(ErrorCode::invalid_params,
                "role must be lsc-issuer or mic-root, not '" + role + "'");
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

storage::AuthMode auth_mode_param(const std::string& text) {
    try {
        return storage::parse_auth_mode(text);
    } catch (const StorageError& e) {
        throw Error(ErrorCode::invalid_params, e.what());
    }
}

/// A key spec from a request: one of the phone key specs (ca/key_spec.hpp),
/// checked here so the message names the allowed ones.
std::string key_spec_param(const std::string& text) {
    if (!ca::parse_key_spec(text)) {
        throw Error(ErrorCode::invalid_params, "key spec '" + text + "' is not one of: " +
                                                   ca::key_spec_list(ca::phone_key_specs()));
    }
    return text;
}

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
        {"failed_auth_count", d.failed_auth_count}};
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

storage::DeviceFilter filter_param(const json& p) {
    storage::DeviceFilter f;
    f.name_prefix = jsonrpc::optional_string(p, "prefix");
    try {
        if (auto op = opt_string(p, "operation"))
            f.operation = storage::parse_operation(*op);
        if (auto st = opt_string(p, "status"))
            f.status = storage::parse_operation_status(*st);
    } catch (const StorageError& e) {
        throw Error(ErrorCode::invalid_params, e.what());
    }
    if (p.contains("expiring_days")) {
        const auto days = opt_size(p, "expiring_days", 0, 0, 3650);
        f.lsc_expiring_before = std::chrono::system_clock::now() + std::chrono::hours(24) * days;
    }
    return f;
}

storage::DeviceSettings settings_param(const json& p, const Config& config,
                                       const std::optional<storage::DeviceRecord>& existing) {
    storage::DeviceSettings s;
    s.name = jsonrpc::require_string(p, "name");
    s.description =
        jsonrpc::optional_string(p, "description", existing ? existing->description : "");
    s.auth_mode = auth_mode_param(jsonrpc::optional_string(
        p, "auth_mode",
        existing ? std::string(storage::to_text(existing->auth_mode)) : config.auth.default_mode));
    s.key_spec = key_spec_param(jsonrpc::optional_string(
        p, "key_spec", existing ? existing->key_spec : config.lsc.default_key_spec.text()));
    return s;
}

storage::ScheduleRequest schedule_param(const json& p) {
    storage::ScheduleRequest r;
    try {
        r.operation = storage::parse_operation(jsonrpc::require_string(p, "operation"));
    } catch (const StorageError& e) {
        throw Error(ErrorCode::invalid_params, e.what());
    }
    if (auto mode = opt_string(p, "auth_mode"))
        r.auth_mode = auth_mode_param(*mode);
    if (auto spec = opt_string(p, "key_spec"))
        r.key_spec = key_spec_param(*spec);
    if (p.contains("deadline_hours")) {
        r.deadline = std::chrono::system_clock::now() +
                     std::chrono::hours(opt_size(p, "deadline_hours", 0, 1, 24 * 365));
    }
    return r;
}

}  // namespace

void register_admin_methods(jsonrpc::Registry& registry, AdminContext& ctx) {
    auto& repo = ctx.repo;
    const Config& config = ctx.config;

    registry.add(
        "server.summary", "identity, issuer, port, key spec, keygen settings and counts by status",
        [&ctx, &repo](const json&) {
            return storage_call([&] {
                json counts = json::object();
                for (const auto& row : repo.report({})) {
                    const std::string key = row.status ? std::string(storage::to_text(*row.status))
                                                       : std::string("none");
                    counts[key] = counts.value(key, 0) + 1;
                }
                const auto& c = ctx.config;
                json summary = {
                    {"version", std::string(version())},
                    {"node", c.node.name},
                    {"capf_certificate", ca::dn_text(ctx.capf_identity.certificate().subject_dn())},
                    {"issuer", ca::dn_text(ctx.issuer_identity.certificate().subject_dn())},
                    {"issuer_expires",
                     ctx.issuer_identity.certificate().not_after().readable_string()},
                    {"listen", c.listen.address + ":" + std::to_string(c.listen.port)},
                    {"tls_policy", c.tls.policy == TlsPolicy::strict ? "strict" : "legacy"},
                    {"default_key_spec", c.lsc.default_key_spec.text()},
                    {"lsc_validity_days", c.lsc.validity_days},
                    {"keygen_timeout_seconds",
                     std::chrono::duration_cast<std::chrono::seconds>(c.keygen.timeout).count()},
                    {"keygen_retries", c.keygen.retries},
                    {"default_auth_mode", c.auth.default_mode},
                    {"devices_by_status", counts}};
                if (ctx.phone_stats != nullptr) {
                    summary["sessions_active"] = ctx.phone_stats->active.load();
                    summary["sessions_completed"] = ctx.phone_stats->sessions_completed.load();
                    summary["sessions_rejected_over_limit"] =
                        ctx.phone_stats->rejected_over_limit.load();
                }
                return summary;
            });
        });

    registry.add(
        "server.stats",
        "sessions since start, the fleet's counts, trust anchors, and audit events of the last "
        "24 hours by event and outcome",
        [&ctx, &repo](const json&) {
            return storage_call([&] {
                json out;
                out["uptime_seconds"] = std::chrono::duration_cast<std::chrono::seconds>(
                                            std::chrono::system_clock::now() - ctx.started_at)
                                            .count();
                if (ctx.phone_stats != nullptr) {
                    const auto& s = *ctx.phone_stats;
                    out["sessions"] = {{"active", s.active.load()},
                                       {"accepted", s.accepted.load()},
                                       {"completed", s.sessions_completed.load()},
                                       {"rejected_over_limit", s.rejected_over_limit.load()},
                                       {"handshake_timeouts", s.handshake_timeouts.load()},
                                       {"handshake_failures", s.handshake_failures.load()}};
                }
                const auto fleet = repo.fleet_stats();
                out["devices"] = {{"total", fleet.devices},
                                  {"with_lsc", fleet.with_lsc},
                                  {"pending_install", fleet.pending_install},
                                  {"pending_fetch", fleet.pending_fetch},
                                  {"pending_delete", fleet.pending_delete},
                                  {"auth_strings_set", fleet.auth_strings_set},
                                  {"auth_locked", fleet.auth_locked},
                                  {"operations_in_progress", fleet.leases_held}};
                out["trust_anchors"] = {
                    {"lsc_issuers", ctx.trust.list(ca::TrustRole::lsc_issuer).size()},
                    {"mic_roots", ctx.trust.list(ca::TrustRole::mic_root).size()}};
                json events = json::array();
                for (const auto& c :
                     repo.audit_counts(std::chrono::system_clock::now() - std::chrono::hours(24))) {
                    events.push_back(
                        {{"event", c.event}, {"outcome", c.outcome}, {"count", c.count}});
                }
                out["events_last_24h"] = events;
                return out;
            });
        });

    registry.add("device.add", "add a device: name, description, auth_mode, key_spec",
                 [&repo, &config](const json& p) {
                     return storage_call([&] {
                         return device_json(repo.add_device(settings_param(p, config, {}),
                                                            jsonrpc::current_caller()));
                     });
                 });
    registry.add(
        "device.add_bulk", "add many devices: devices = [{name, ...}]; existing names are kept",
        [&repo, &config](const json& p) {
            auto it = p.find("devices");
            if (it == p.end() || !it->is_array() || it->empty() || it->size() > max_bulk) {
                throw Error(ErrorCode::invalid_params,
                            "parameter 'devices' must be a list of 1 to " +
                                std::to_string(max_bulk) + " devices");
            }
            std::vector<storage::DeviceSettings> devices;
            for (const auto& d : *it) {
                if (!d.is_object())
                    throw Error(ErrorCode::invalid_params, "each device must be an object");
                for (const auto& [key, v] : d.items()) {
                    if (key != "name" && key != "description" && key != "auth_mode" &&
                        key != "key_spec") {
                        throw Error(ErrorCode::invalid_params,
                                    "unknown device field '" + key +
                                        "'; allowed: name, description, auth_mode, key_spec");
                    }
                }
                devices.push_back(settings_param(d, config, {}));
            }
            return storage_call([&] {
                return json{{"added", repo.add_devices(devices, jsonrpc::current_caller())}};
            });
        });
    registry.add(
        "device.update", "change a device's description, auth_mode or key_spec",
        [&repo, &config](const json& p) {
            return storage_call([&] {
                const auto existing = repo.find_device(jsonrpc::require_string(p, "name"));
                if (!existing)
                    throw StorageError(StorageErrc::not_found,
                                       "no device named " + p.value("name", ""));
                const auto& actor = jsonrpc::current_caller();
                return device_json(repo.update_device(settings_param(p, config, existing), actor));
            });
        });
    registry.add("device.remove", "remove a device", [&repo](const json& p) {
        return storage_call([&] {
            repo.remove_device(jsonrpc::require_string(p, "name"), jsonrpc::current_caller());
            return json{{"removed", true}};
        });
    });
    registry.add("device.get", "one device with its LSC and operation", [&repo](const json& p) {
        return storage_call([&] {
            const std::string name = jsonrpc::require_string(p, "name");
            const auto d = repo.find_device(name);
            if (!d)
                throw StorageError(StorageErrc::not_found, "no device named " + name);
            return device_json(*d);
        });
    });
    registry.add(
        "device.list", "devices by prefix, operation, status; pages with after/limit",
        [&repo](const json& p) {
            return storage_call([&] {
                const auto page =
                    repo.list_devices(filter_param(p), jsonrpc::optional_string(p, "after"),
                                      opt_size(p, "limit", 100, 1, max_page));
                json devices = json::array();
                for (const auto& d : page.devices)
                    devices.push_back(device_json(d));
                return json{{"devices", devices},
                            {"next_after",
                             page.next_after.empty() ? json(nullptr) : json(page.next_after)}};
            });
        });

    registry.add(
        "operation.schedule",
        "schedule install/fetch/delete/none for one device (name) or in bulk (all, or prefix); "
        "auth_mode, key_spec, deadline_hours, override",
        [&repo](const json& p) {
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
            return storage_call([&] {
                if (name) {
                    repo.schedule_operation(*name, request, jsonrpc::current_caller());
                    return json{{"scheduled", 1}};
                }
                // Here 'operation' is what to schedule, not a filter on the
                // devices' current pending operation.
                json scope = p;
                scope.erase("operation");
                return json{{"scheduled", repo.schedule_bulk(filter_param(scope), request,
                                                             opt_bool(p, "override"),
                                                             jsonrpc::current_caller())}};
            });
        });
    registry.add("operation.cancel", "cancel a device's pending operation", [&repo](const json& p) {
        return storage_call([&] {
            repo.cancel_operation(jsonrpc::require_string(p, "name"), jsonrpc::current_caller());
            return json{{"cancelled", true}};
        });
    });

    registry.add(
        "auth_string.generate",
        "set auth strings (digits 4-10, or a given value) for one device or in bulk; returned once",
        [&repo, &config](const json& p) {
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
                throw Error(ErrorCode::invalid_params,
                            "a given 'value' is for one device ('name') only");
            }
            return storage_call([&] {
                std::vector<std::string> names;
                if (name) {
                    names.push_back(*name);
                } else {
                    storage::DeviceFilter f;
                    f.name_prefix = prefix;
                    std::string after;
                    do {
                        const auto page = repo.list_devices(f, after, max_page);
                        for (const auto& d : page.devices)
                            names.push_back(d.name);
                        after = page.next_after;
                    } while (!after.empty());
                }
                if (names.empty()) {
                    throw Error(ErrorCode::not_found,
                                "no device matches; add devices first (capfctl device add)");
                }
                std::vector<std::string> secrets;
                for (std::size_t i = 0; i < names.size(); ++i)
                    secrets.push_back(value ? *value : random_auth_string(digits));
                // Hashing is the cost of a fleet-wide call: spread it over the cores.
                const auto hashes =
                    hash_auth_strings(secrets, config.auth.hash_iterations,
                                      std::max(1u, std::thread::hardware_concurrency()));
                std::vector<std::pair<std::string, std::string>> stored;
                json out = json::array();
                for (std::size_t i = 0; i < names.size(); ++i) {
                    stored.emplace_back(names[i], hashes[i]);
                    out.push_back({{"name", storage::checked_device_name(names[i])},
                                   {"auth_string", secrets[i]}});
                }
                repo.set_auth_string_hashes(stored, jsonrpc::current_caller());
                return json{{"auth_strings", out}};
            });
        });
    registry.add("auth_string.delete", "remove a device's auth string", [&repo](const json& p) {
        return storage_call([&] {
            repo.clear_auth_string(jsonrpc::require_string(p, "name"), jsonrpc::current_caller());
            return json{{"deleted", true}};
        });
    });
    registry.add("auth_string.pending", "devices with an auth string set (never the string)",
                 [&repo](const json& p) {
                     return storage_call([&] {
                         return json{{"devices", repo.devices_with_auth_string(
                                                     jsonrpc::optional_string(p, "prefix"))}};
                     });
                 });

    registry.add(
        "trust.list", "trust anchors of a role (lsc-issuer or mic-root) and where each came from",
        [&ctx](const json& p) {
            const auto role = trust_role_param(p);
            const auto stored = storage_call([&] { return ctx.anchors.list(); });
            json out = json::array();
            for (const auto& a : ctx.trust.list(role)) {
                out.push_back({{"subject", a.subject},
                               {"sha256", a.sha256_hex},
                               {"not_after", a.not_after},
                               {"source", std::string(anchor_source_name(anchor_source(
                                              a.sha256_hex, ctx.issuer_identity, stored)))}});
            }
            return json{{"anchors", out}};
        });
    registry.add(
        "trust.add",
        "add a trust anchor for every node: role, and the CA certificate as pem or der_base64",
        [&ctx](const json& p) {
            const auto role = trust_role_param(p);
            const auto pem = opt_string(p, "pem");
            const auto der_base64 = opt_string(p, "der_base64");
            if (pem.has_value() == der_base64.has_value()) {
                throw Error(ErrorCode::invalid_params,
                            "give the certificate as exactly one of 'pem' or 'der_base64'");
            }
            std::vector<std::uint8_t> bytes;
            if (pem) {
                bytes.assign(pem->begin(), pem->end());
            } else {
                try {
                    const auto decoded = Botan::base64_decode(*der_base64);
                    bytes.assign(decoded.begin(), decoded.end());
                } catch (const std::exception&) {
                    throw Error(ErrorCode::invalid_params, "'der_base64' is not valid base64");
                }
            }
            Botan::X509_Certificate cert = [&] {
                try {
                    return ca::parse_trust_anchor(bytes);
                } catch (const ca::CaError& e) {
                    throw Error(ErrorCode::invalid_params, e.what());
                }
            }();
            const auto der = cert.BER_encode();
            storage::StoredTrustAnchor anchor{std::string(ca::trust_role_name(role)),
                                              ca::sha256_hex(der),
                                              storage::Bytes(der.begin(), der.end()),
                                              ca::dn_text(cert.subject_dn()),
                                              jsonrpc::current_caller(),
                                              std::nullopt};
            for (const auto& a : ctx.trust.list(role)) {
                if (a.sha256_hex == anchor.sha256_hex) {
                    throw Error(ErrorCode::conflict, "certificate " + anchor.sha256_hex +
                                                         " is already a " + anchor.role +
                                                         " trust anchor");
                }
            }
            return storage_call([&] {
                ctx.anchors.add(anchor);
                reload_trust(ctx.trust, ctx.config, ctx.issuer_identity, ctx.anchors);
                return json{{"added", true},
                            {"role", anchor.role},
                            {"subject", anchor.subject},
                            {"sha256", anchor.sha256_hex},
                            {"not_after", cert.not_after().readable_string()}};
            });
        });
    registry.add(
        "trust.remove",
        "remove a trust anchor added with trust.add: role and sha256 (from trust.list)",
        [&ctx](const json& p) {
            const auto role = trust_role_param(p);
            std::string sha;
            for (char c : jsonrpc::require_string(p, "sha256")) {
                if (c != ':')
                    sha.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
            }
            if (sha.size() != 64 ||
                sha.find_first_not_of("0123456789abcdef") != std::string::npos) {
                throw Error(ErrorCode::invalid_params,
                            "'sha256' must be 64 hex digits, as trust.list shows it");
            }
            const std::string role_name(ca::trust_role_name(role));
            return storage_call([&] {
                const auto stored = ctx.anchors.list(role_name);
                const auto source = anchor_source(sha, ctx.issuer_identity, stored);
                bool present = false;
                for (const auto& a : ctx.trust.list(role))
                    present = present || a.sha256_hex == sha;
                if (source == AnchorSource::issuer) {
                    throw Error(
                        ErrorCode::conflict,
                        "that is this CAPF's own issuing certificate; it cannot be removed");
                }
                if (source == AnchorSource::config_file && present) {
                    throw Error(ErrorCode::conflict,
                                "that anchor comes from a file named in the configuration "
                                "(trust.lsc_issuers or trust.mic_roots); remove it there and "
                                "send capfd SIGHUP");
                }
                ctx.anchors.remove(role_name, sha, jsonrpc::current_caller());
                reload_trust(ctx.trust, ctx.config, ctx.issuer_identity, ctx.anchors);
                return json{{"removed", true}, {"role", role_name}, {"sha256", sha}};
            });
        });

    registry.add("capf.certificate",
                 "the CAPF certificate for the ITL/CTL builder: format pem or der (base64)",
                 [&ctx](const json& p) {
                     const std::string format = jsonrpc::optional_string(p, "format", "pem");
                     const auto& cert = ctx.capf_identity.certificate();
                     if (format == "pem")
                         return json{{"pem", cert.PEM_encode()}};
                     if (format == "der")
                         return json{{"der_base64", Botan::base64_encode(cert.BER_encode())}};
                     throw Error(ErrorCode::invalid_params, "format must be pem or der");
                 });

    registry.add(
        "report",
        "per device: LSC present, serial, expiry, MD5, pending operation and status; "
        "expiring_days, prefix",
        [&repo](const json& p) {
            return storage_call([&] {
                json rows = json::array();
                for (const auto& r : repo.report(filter_param(p))) {
                    rows.push_back(
                        {{"name", r.name},
                         {"lsc", r.has_lsc},
                         {"serial", r.lsc_serial},
                         {"not_after",
                          r.lsc_not_after ? json(iso8601(*r.lsc_not_after)) : json(nullptr)},
                         {"md5", r.lsc_md5},
                         {"pending_operation", std::string(storage::to_text(r.pending_operation))},
                         {"status", r.status ? json(std::string(storage::to_text(*r.status)))
                                             : json(nullptr)},
                         {"reason", r.reason}});
                }
                return json{{"devices", rows}};
            });
        });

    registry.add(
        "audit.query", "audit events, newest first: device, limit", [&repo](const json& p) {
            return storage_call([&] {
                json events = json::array();
                for (const auto& e : repo.audit_events(
                         storage::AuditQuery{jsonrpc::optional_string(p, "device"), std::nullopt,
                                             opt_size(p, "limit", 100, 1, 10000)})) {
                    events.push_back({{"at", e.at ? json(iso8601(*e.at)) : json(nullptr)},
                                      {"device", e.device},
                                      {"peer", e.peer},
                                      {"node", e.node},
                                      {"event", e.event},
                                      {"outcome", e.outcome},
                                      {"detail", e.detail}});
                }
                return json{{"events", events}};
            });
        });

    // Every parameter each method accepts (see the summaries above).
    const std::vector<std::string> filter = {"prefix", "operation", "status", "expiring_days"};
    auto with = [](std::vector<std::string> a, const std::vector<std::string>& b) {
        a.insert(a.end(), b.begin(), b.end());
        return a;
    };
    const std::vector<std::string> device = {"name", "description", "auth_mode", "key_spec"};
    registry.accept_params("server.summary", {});
    registry.accept_params("server.stats", {});
    registry.accept_params("device.add", device);
    registry.accept_params("device.add_bulk", {"devices"});
    registry.accept_params("device.update", device);
    registry.accept_params("device.remove", {"name"});
    registry.accept_params("device.get", {"name"});
    registry.accept_params("device.list", with(filter, {"after", "limit"}));
    registry.accept_params(
        "operation.schedule",
        with(filter, {"name", "all", "auth_mode", "key_spec", "deadline_hours", "override"}));
    registry.accept_params("operation.cancel", {"name"});
    registry.accept_params("auth_string.generate", {"name", "all", "prefix", "digits", "value"});
    registry.accept_params("auth_string.delete", {"name"});
    registry.accept_params("auth_string.pending", {"prefix"});
    registry.accept_params("trust.list", {"role"});
    registry.accept_params("trust.add", {"role", "pem", "der_base64"});
    registry.accept_params("trust.remove", {"role", "sha256"});
    registry.accept_params("capf.certificate", {"format"});
    registry.accept_params("report", filter);
    registry.accept_params("audit.query", {"device", "limit"});
}

}  // namespace capf
