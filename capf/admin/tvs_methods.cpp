// tvs.add, tvs.list, tvs.remove, tvs.export, tvs.export_bundle,
// tvs.import_bundle: the Trust Verification Service's store of trusted
// certificates (protocol page, section 11), shared by every node.
#include <botan/base64.h>
#include <botan/pem.h>

#include <algorithm>

#include "ca/certificate_facts.hpp"
#include "ca/error.hpp"
#include "capf/admin/method_groups.hpp"
#include "capf/admin/params.hpp"
#include "protocol/itl_role_names.hpp"

namespace capf::admin {

using jsonrpc::Error;
using jsonrpc::ErrorCode;

// A namespace of the file's own: the target is compiled in unity batches,
// and the helpers' names must not meet another file's.
namespace tvs_methods {
namespace {

/// A phone caches a TVS answer for its TTL: past a year, a certificate an
/// operator removes would stay trusted by phones for too long.
constexpr std::chrono::seconds max_tvs_ttl = std::chrono::hours(24 * 365);
/// How many matches an ambiguous hash prefix's refusal names.
constexpr std::size_t max_listed_matches = 10;
/// Digits of a hash that tell certificates apart in messages.
constexpr std::size_t short_hash_digits = 16;

using storage::TrustedCertificate;
using storage::TrustedCertificateChange;

std::vector<std::string> role_names(const std::vector<std::uint16_t>& numbers) {
    std::vector<std::string> out;
    for (const auto n : numbers) {
        const auto role = protocol::itl_role_from_number(n);
        out.push_back(role ? std::string(protocol::itl_role_name(*role)) : std::to_string(n));
    }
    return out;
}

std::vector<std::uint16_t> role_numbers(const std::vector<protocol::ItlRole>& roles) {
    std::vector<std::uint16_t> out;
    for (const auto role : roles)
        out.push_back(static_cast<std::uint16_t>(role));
    return out;
}

protocol::ItlRole role_param(const std::string& name) {
    const auto role = protocol::parse_itl_role(name);
    if (!role) {
        throw Error(ErrorCode::invalid_params, "unknown role '" + name + "'; role must be one of " +
                                                   protocol::itl_role_names());
    }
    return *role;
}

/// The optional list `key` of role names; empty when absent.
std::vector<protocol::ItlRole> roles_param(const json& p, const char* key) {
    std::vector<protocol::ItlRole> roles;
    if (!p.contains(key) || p[key].is_null())
        return roles;
    if (!p[key].is_array() || p[key].empty()) {
        throw Error(ErrorCode::invalid_params, std::string("'") + key +
                                                   "' must be a list of one or more of " +
                                                   protocol::itl_role_names());
    }
    for (const auto& name : p[key]) {
        if (!name.is_string())
            throw Error(ErrorCode::invalid_params, std::string("'") + key + "' must list names");
        roles.push_back(role_param(name.get<std::string>()));
    }
    return roles;
}

/// The optional role filter of tvs.list and tvs.export_bundle.
std::optional<std::uint16_t> role_filter(const json& p) {
    if (const auto role = opt_string(p, "role"))
        return static_cast<std::uint16_t>(role_param(*role));
    return std::nullopt;
}

std::chrono::seconds checked_ttl(std::chrono::seconds ttl, const std::string& what) {
    if (ttl < std::chrono::seconds(1) || ttl > max_tvs_ttl) {
        throw Error(ErrorCode::invalid_params, what + " " + format_duration(ttl) +
                                                   " is out of range; allowed 1s to " +
                                                   format_duration(max_tvs_ttl));
    }
    return ttl;
}

/// "ttl" as a duration ("24h", "90m") or whole seconds; the configured
/// default when absent.
std::chrono::seconds ttl_param(const AdminContext& ctx, const json& p) {
    if (!p.contains("ttl") || p["ttl"].is_null())
        return ctx.tvs_default_ttl;
    std::optional<std::chrono::milliseconds> d;
    if (p["ttl"].is_number_unsigned())
        d = std::chrono::seconds(static_cast<std::chrono::seconds::rep>(
            std::min<std::uint64_t>(p["ttl"].get<std::uint64_t>(), std::uint64_t{1} << 31)));
    else if (p["ttl"].is_string())
        d = parse_duration(p["ttl"].get<std::string>());
    if (!d || d->count() % 1000 != 0) {
        throw Error(ErrorCode::invalid_params,
                    "'ttl' must be whole seconds or a duration such as \"3600s\", \"30m\", "
                    "\"24h\" or \"7d\"");
    }
    return checked_ttl(std::chrono::duration_cast<std::chrono::seconds>(*d), "'ttl'");
}

/// "certificate": PEM text, or the DER as base64.
ca::CertificateFacts certificate_param(const json& p) {
    const std::string text = jsonrpc::require_string(p, "certificate");
    std::vector<std::uint8_t> bytes(text.begin(), text.end());
    if (text.find("-----BEGIN") == std::string::npos) {
        try {
            const auto der = Botan::base64_decode(text);
            bytes.assign(der.begin(), der.end());
        } catch (const std::exception&) {
            throw Error(ErrorCode::invalid_params,
                        "'certificate' must be PEM text or the DER as base64; this is neither");
        }
    }
    try {
        return ca::certificate_facts(bytes);
    } catch (const ca::CaError& e) {
        throw Error(ErrorCode::invalid_params, e.what());
    }
}

TrustedCertificate stored_of(const ca::CertificateFacts& f,
                             const std::vector<protocol::ItlRole>& roles,
                             std::chrono::seconds ttl) {
    TrustedCertificate c;
    c.sha256_hex = f.sha256_hex;
    c.der = f.der;
    c.subject = f.subject;
    c.issuer = f.issuer;
    c.serial_hex = f.serial_hex;
    c.roles = role_numbers(roles);
    c.ttl = ttl;
    c.not_after = f.not_after;
    return c;
}

json certificate_json(const TrustedCertificate& c) {
    return json{{"sha256", c.sha256_hex},
                {"subject", c.subject},
                {"issuer", c.issuer},
                {"serial", c.serial_hex},
                {"roles", role_names(c.roles)},
                {"ttl", format_duration(c.ttl)},
                {"ttl_seconds", c.ttl.count()},
                {"not_after", iso8601(c.not_after)},
                {"expired", c.not_after <= std::chrono::system_clock::now()},
                {"automatic", c.automatic},
                {"node", c.automatic ? json(c.node) : json(nullptr)},
                {"added_by", c.added_by},
                {"added_at", c.added_at ? json(iso8601(*c.added_at)) : json(nullptr)}};
}

/// Tells this node's TVS view at once. The change has committed: a failure
/// here leaves the view to its next poll, and the method still succeeds.
void changed(AdminContext& ctx) {
    if (!ctx.on_trusted_certificates_changed)
        return;
    try {
        ctx.on_trusted_certificates_changed();
    } catch (const std::exception&) {
    }
}

/// The one certificate whose hash starts with "hash_prefix".
TrustedCertificate one_by_prefix(AdminContext& ctx, const json& p) {
    const std::string prefix = jsonrpc::require_string(p, "hash_prefix");
    const auto found = ctx.trusted_certificates.find_by_prefix(prefix);
    if (found.empty()) {
        throw Error(ErrorCode::not_found,
                    "no trusted certificate's SHA-256 starts with '" + prefix + "'");
    }
    if (found.size() == 1)
        return found.front();
    std::string listed;
    for (std::size_t i = 0; i < found.size() && i < max_listed_matches; ++i) {
        listed += (i > 0 ? "; " : "") + found[i].sha256_hex.substr(0, short_hash_digits) + " " +
                  found[i].subject;
    }
    if (found.size() > max_listed_matches)
        listed += "; and " + std::to_string(found.size() - max_listed_matches) + " more";
    throw Error(ErrorCode::invalid_params, "hash prefix '" + prefix + "' matches " +
                                               std::to_string(found.size()) +
                                               " certificates: " + listed + "; give more digits");
}

json tvs_add(AdminContext& ctx, const json& p) {
    const auto facts = certificate_param(p);
    const auto roles = roles_param(p, "roles");
    if (roles.empty()) {
        throw Error(ErrorCode::invalid_params,
                    "'roles' is required: a list of " + protocol::itl_role_names());
    }
    const auto stored = stored_of(facts, roles, ttl_param(ctx, p));
    const auto change = ctx.trusted_certificates.add(stored, jsonrpc::current_caller());
    if (change != TrustedCertificateChange::unchanged)
        changed(ctx);
    json out = certificate_json(stored);
    for (const char* key : {"automatic", "node", "added_by", "added_at"})
        out.erase(key);
    out["result"] = std::string(storage::to_text(change));
    return out;
}

json tvs_list(AdminContext& ctx, const json& p) {
    json out = json::array();
    for (const auto& c : ctx.trusted_certificates.list(role_filter(p)))
        out.push_back(certificate_json(c));
    return json{{"certificates", out}};
}

json tvs_remove(AdminContext& ctx, const json& p) {
    const auto c = one_by_prefix(ctx, p);
    if (c.automatic) {
        throw Error(ErrorCode::conflict, "certificate " + c.sha256_hex + " (" + c.subject +
                                             ") is capfd's own (node " + c.node +
                                             ") and cannot be removed; it goes when that node "
                                             "no longer uses it");
    }
    ctx.trusted_certificates.remove(c.sha256_hex, jsonrpc::current_caller());
    changed(ctx);
    return json{{"removed", true}, {"sha256", c.sha256_hex}, {"subject", c.subject}};
}

json tvs_export(AdminContext& ctx, const json& p) {
    const auto c = one_by_prefix(ctx, p);
    return json{{"sha256", c.sha256_hex},
                {"subject", c.subject},
                {"pem", Botan::PEM_Code::encode(c.der.data(), c.der.size(), "CERTIFICATE")}};
}

json tvs_export_bundle(AdminContext& ctx, const json& p) {
    std::vector<ca::BundleEntry> entries;
    for (const auto& c : ctx.trusted_certificates.list(role_filter(p))) {
        ca::BundleEntry e;
        e.der = c.der;
        for (const auto n : c.roles) {
            if (const auto role = protocol::itl_role_from_number(n))
                e.roles.push_back(*role);
        }
        e.ttl = c.ttl;
        entries.push_back(std::move(e));
    }
    return json{{"bundle", ca::write_pem_bundle(entries)}, {"count", entries.size()}};
}

/// The bundle's certificates as the store keeps them: roles and TTL from
/// each block's comments, else from the parameters, else the default TTL.
std::vector<TrustedCertificate> bundle_param(AdminContext& ctx, const json& p) {
    std::vector<ca::BundleEntry> entries;
    try {
        entries = ca::parse_pem_bundle(jsonrpc::require_string(p, "bundle"));
    } catch (const ca::CaError& e) {
        throw Error(ErrorCode::invalid_params, std::string("bundle: ") + e.what());
    }
    const auto roles = roles_param(p, "roles");
    const auto ttl = ttl_param(ctx, p);
    std::vector<TrustedCertificate> out;
    for (const auto& e : entries) {
        const std::string where = "bundle: the certificate at line " + std::to_string(e.line);
        const auto facts = ca::certificate_facts(e.der);
        if (e.roles.empty() && roles.empty()) {
            throw Error(ErrorCode::invalid_params, where + " (" + facts.subject +
                                                       ") has no roles comment; give 'roles' "
                                                       "for such certificates");
        }
        out.push_back(stored_of(facts, e.roles.empty() ? roles : e.roles,
                                e.ttl ? checked_ttl(*e.ttl, where + ": its ttl") : ttl));
    }
    return out;
}

json tvs_import_bundle(AdminContext& ctx, const json& p) {
    const auto certificates = bundle_param(ctx, p);
    const auto results = ctx.trusted_certificates.add_all(certificates, jsonrpc::current_caller());
    json counts = {{"added", 0}, {"updated", 0}, {"unchanged", 0}, {"kept_automatic", 0}};
    json listed = json::array();
    for (const auto& [sha, change] : results) {
        std::string key(storage::to_text(change));
        std::replace(key.begin(), key.end(), '-', '_');
        counts[key] = counts[key].get<int>() + 1;
        const auto c = std::find_if(certificates.begin(), certificates.end(),
                                    [&sha](const auto& x) { return x.sha256_hex == sha; });
        listed.push_back({{"sha256", sha},
                          {"subject", c->subject},
                          {"result", std::string(storage::to_text(change))}});
    }
    if (counts["added"] != 0 || counts["updated"] != 0)
        changed(ctx);
    counts["certificates"] = listed;
    return counts;
}

}  // namespace
}  // namespace tvs_methods

void register_tvs_methods(AdminRegistry& registry) {
    registry.add({"tvs.add",
                  Role::admin,
                  "trust a certificate for TVS on every node: certificate (PEM, or DER as "
                  "base64), roles (names), ttl (default the configured one); a stored one gets "
                  "these roles and ttl",
                  {"certificate", "roles", "ttl"},
                  tvs_methods::tvs_add});
    registry.add({"tvs.list",
                  Role::read_only,
                  "the TVS trusted certificates, all or those of one role, with roles, TTL, "
                  "expiry and whether a node keeps it as its own",
                  {"role"},
                  tvs_methods::tvs_list});
    registry.add({"tvs.remove",
                  Role::admin,
                  "stop trusting an operator's TVS certificate: hash_prefix (of its SHA-256, "
                  "matching one certificate)",
                  {"hash_prefix"},
                  tvs_methods::tvs_remove});
    registry.add({"tvs.export",
                  Role::read_only,
                  "one TVS trusted certificate as PEM: hash_prefix (of its SHA-256)",
                  {"hash_prefix"},
                  tvs_methods::tvs_export});
    registry.add({"tvs.export_bundle",
                  Role::read_only,
                  "the TVS trusted certificates (all, or those of one role) as a PEM bundle with "
                  "their roles and TTL in comments",
                  {"role"},
                  tvs_methods::tvs_export_bundle});
    registry.add({"tvs.import_bundle",
                  Role::admin,
                  "trust every certificate of a PEM bundle: roles and ttl from its comments, "
                  "else from 'roles' and 'ttl'; reports what was added and updated",
                  {"bundle", "roles", "ttl"},
                  tvs_methods::tvs_import_bundle});
}

}  // namespace capf::admin
