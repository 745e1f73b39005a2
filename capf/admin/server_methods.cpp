// server.version, methods, server.summary, server.stats
#include "ca/names.hpp"
#include "capf/admin/method_groups.hpp"
#include "capf/common/version.hpp"

namespace capf::admin {

namespace {

std::int64_t uptime_seconds(const AdminContext& ctx) {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() -
                                                            ctx.started_at)
        .count();
}

json server_version(AdminContext& ctx, const json&) {
    return json{{"version", std::string(version())},
                {"node", ctx.config.node.name},
                {"uptime_seconds", uptime_seconds(ctx)}};
}

json list_methods(const jsonrpc::Registry& registry) {
    return json(registry.summaries());
}

json server_summary(AdminContext& ctx, const json&) {
    json counts = json::object();
    for (const auto& row : ctx.reports.report({})) {
        const std::string key =
            row.status ? std::string(storage::to_text(*row.status)) : std::string("none");
        counts[key] = counts.value(key, 0) + 1;
    }
    const auto& c = ctx.config;
    const auto& issuer = ctx.issuer_identity.certificate();
    json summary = {{"version", std::string(version())},
                    {"node", c.node.name},
                    {"capf_certificate", ca::dn_text(ctx.capf_identity.certificate().subject_dn())},
                    {"issuer", ca::dn_text(issuer.subject_dn())},
                    {"issuer_expires", iso8601(issuer.not_after().to_std_timepoint())},
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
        summary["sessions_rejected_over_limit"] = ctx.phone_stats->rejected_over_limit.load();
        summary["sessions_rejected_per_source"] = ctx.phone_stats->rejected_per_source.load();
    }
    return summary;
}

json fleet_json(const storage::FleetStats& fleet) {
    return {{"total", fleet.devices},
            {"with_lsc", fleet.with_lsc},
            {"pending_install", fleet.pending_install},
            {"pending_fetch", fleet.pending_fetch},
            {"pending_delete", fleet.pending_delete},
            {"auth_strings_set", fleet.auth_strings_set},
            {"auth_locked", fleet.auth_locked},
            {"operations_in_progress", fleet.leases_held}};
}

json server_stats(AdminContext& ctx, const json&) {
    json out;
    out["uptime_seconds"] = uptime_seconds(ctx);
    if (ctx.phone_stats != nullptr) {
        const auto& s = *ctx.phone_stats;
        out["sessions"] = {{"active", s.active.load()},
                           {"accepted", s.accepted.load()},
                           {"completed", s.sessions_completed.load()},
                           {"rejected_over_limit", s.rejected_over_limit.load()},
                           {"rejected_per_source", s.rejected_per_source.load()},
                           {"handshake_timeouts", s.handshake_timeouts.load()},
                           {"handshake_failures", s.handshake_failures.load()}};
    }
    if (ctx.tvs_connections != nullptr && ctx.tvs_answers != nullptr) {
        const auto& c = *ctx.tvs_connections;
        const auto& a = *ctx.tvs_answers;
        out["tvs"] = {{"active", c.active.load()},
                      {"accepted", c.accepted.load()},
                      {"rejected_over_limit", c.rejected_over_limit.load()},
                      {"rejected_per_source", c.rejected_per_source.load()},
                      {"handshake_timeouts", c.handshake_timeouts.load()},
                      {"handshake_failures", c.handshake_failures.load()},
                      {"valid", a.valid.load()},
                      {"invalid", a.invalid.load()},
                      {"malformed", a.malformed.load()},
                      {"read_timeouts", a.read_timeouts.load()},
                      {"request_limit_reached", a.request_limit_reached.load()}};
        if (ctx.tvs_view) {
            const auto [certificates, version] = ctx.tvs_view();
            out["tvs"]["certificates"] = certificates;
            out["tvs"]["store_version"] = version;
        }
    }
    out["devices"] = fleet_json(ctx.reports.fleet_stats());
    if (ctx.deliveries != nullptr) {
        const auto d = ctx.deliveries->delivery_stats();
        out["deliveries"] = {{"pending", d.pending},
                             {"failing", d.failing},
                             {"delivered_last_hour", d.delivered_last_hour},
                             {"parked", d.parked},
                             {"last_error", d.last_error}};
    }
    // Rollback is a state nobody may forget (protocol/README.md, "Rollback
    // ITL"): always present, true while either source says so.
    out["itl_rollback"] = itl_rollback_configured(ctx.config) ||
                          ctx.cluster_settings.flag(storage::itl_rollback_setting);
    if (ctx.ctl_signer_refusals) {
        if (const auto refusals = ctx.ctl_signer_refusals())
            out["ctl"] = {{"signer_refusals", *refusals}};
    }
    out["trust_anchors"] = {{"lsc_issuers", ctx.trust.list(ca::TrustRole::lsc_issuer).size()},
                            {"mic_roots", ctx.trust.list(ca::TrustRole::mic_root).size()},
                            {"sudi_roots", ctx.trust.list(ca::TrustRole::sudi_root).size()},
                            {"intermediates", ctx.trust.list(ca::TrustRole::intermediate).size()}};
    json events = json::array();
    for (const auto& c :
         ctx.reports.audit_counts(std::chrono::system_clock::now() - std::chrono::hours(24))) {
        events.push_back({{"event", c.event}, {"outcome", c.outcome}, {"count", c.count}});
    }
    out["events_last_24h"] = events;
    return out;
}

}  // namespace

void register_server_methods(AdminRegistry& registry) {
    registry.add({"server.version",
                  Role::read_only,
                  "capfd's version, node name and uptime",
                  {},
                  server_version});
    // The registry outlives every request, so the method may refer to it.
    registry.add({"methods",
                  Role::read_only,
                  "every admin method with a one-line summary",
                  {},
                  [&methods = registry.registry()](AdminContext&, const json&) {
                      return list_methods(methods);
                  }});
    registry.add({"server.summary",
                  Role::read_only,
                  "identity, issuer, port, key spec, keygen settings and counts by status",
                  {},
                  server_summary});
    registry.add({"server.stats",
                  Role::read_only,
                  "sessions since start, the fleet's counts, trust anchors, and audit events of "
                  "the last 24 hours by event and outcome",
                  {},
                  server_stats});
}

}  // namespace capf::admin
