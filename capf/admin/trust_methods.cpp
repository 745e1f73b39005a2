// trust.list, trust.add, trust.remove, capf.certificate
#include <botan/base64.h>
#include <botan/x509cert.h>

#include <algorithm>
#include <cctype>

#include "ca/error.hpp"
#include "ca/fingerprint.hpp"
#include "ca/names.hpp"
#include "capf/admin/method_groups.hpp"
#include "capf/admin/params.hpp"
#include "capf/service/trust_loader.hpp"

namespace capf::admin {

using jsonrpc::Error;
using jsonrpc::ErrorCode;

namespace {

json trust_list(AdminContext& ctx, const json& p) {
    std::vector<ca::TrustRole> roles(std::begin(ca::all_trust_roles),
                                     std::end(ca::all_trust_roles));
    if (auto role = opt_string(p, "role"))
        roles = {trust_role_param(*role)};
    const auto stored = ctx.anchors.list();
    json out = json::array();
    for (const auto role : roles) {
        for (const auto& cert : ctx.trust.anchors(role)) {
            const std::string sha = ca::sha256_hex(cert.BER_encode());
            out.push_back({{"role", std::string(ca::trust_role_name(role))},
                           {"subject", ca::dn_text(cert.subject_dn())},
                           {"sha256", sha},
                           {"not_after", iso8601(cert.not_after().to_std_timepoint())},
                           {"source", std::string(anchor_source_name(
                                          anchor_source(sha, ctx.issuer_identity, stored)))}});
        }
    }
    return json{{"anchors", out}};
}

/// The certificate of trust.add, given as exactly one of pem or der_base64,
/// checked to be a CA that has not expired.
Botan::X509_Certificate anchor_certificate_param(const json& p) {
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
    try {
        return ca::parse_trust_anchor(bytes);
    } catch (const ca::CaError& e) {
        throw Error(ErrorCode::invalid_params, e.what());
    }
}

json trust_add(AdminContext& ctx, const json& p) {
    const auto role = trust_role_param(jsonrpc::require_string(p, "role"));
    const auto cert = anchor_certificate_param(p);
    const auto der = cert.BER_encode();
    storage::StoredTrustAnchor anchor{std::string(ca::trust_role_name(role)),
                                      ca::sha256_hex(der),
                                      storage::Bytes(der.begin(), der.end()),
                                      ca::dn_text(cert.subject_dn()),
                                      jsonrpc::current_caller(),
                                      std::nullopt};
    // Only the database's anchors conflict (storage says already_exists): a
    // certificate capfd trusts already from its configuration, the issuer
    // itself above all, may be stored too, so that it stays trusted when the
    // configuration changes (rotating the CAPF identity keeps the old one).
    ctx.anchors.add(anchor);
    reload_trust(ctx.trust, ctx.config, ctx.issuer_identity, ctx.anchors);
    return json{{"added", true},
                {"role", anchor.role},
                {"subject", anchor.subject},
                {"sha256", anchor.sha256_hex},
                {"not_after", iso8601(cert.not_after().to_std_timepoint())}};
}

/// A SHA-256 fingerprint as trust.list shows it, colons and case allowed.
std::string sha256_param(const json& p) {
    std::string sha;
    for (char c : jsonrpc::require_string(p, "sha256")) {
        if (c != ':')
            sha.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
    if (sha.size() != 64 || sha.find_first_not_of("0123456789abcdef") != std::string::npos) {
        throw Error(ErrorCode::invalid_params,
                    "'sha256' must be 64 hex digits, as trust.list shows it");
    }
    return sha;
}

json trust_remove(AdminContext& ctx, const json& p) {
    const auto role = trust_role_param(jsonrpc::require_string(p, "role"));
    const std::string sha = sha256_param(p);
    const std::string role_name(ca::trust_role_name(role));
    const auto stored = ctx.anchors.list(role_name);
    const auto source = anchor_source(sha, ctx.issuer_identity, stored);
    bool present = false;
    for (const auto& a : ctx.trust.list(role))
        present = present || a.sha256_hex == sha;
    // The issuer's own certificate stored with trust.add (before a
    // rotation) may be removed from the database; the issuer stays trusted.
    const bool stored_copy = std::any_of(stored.begin(), stored.end(),
                                         [&sha](const auto& a) { return a.sha256_hex == sha; });
    if (source == AnchorSource::issuer && !stored_copy) {
        throw Error(ErrorCode::conflict,
                    "that is this CAPF's own issuing certificate; it cannot be removed");
    }
    if (source == AnchorSource::config_file && present) {
        throw Error(ErrorCode::conflict,
                    "that anchor comes from a file named in the configuration "
                    "(trust.lsc_issuers or trust.mic_roots); remove it there and send capfd "
                    "SIGHUP");
    }
    ctx.anchors.remove(role_name, sha, jsonrpc::current_caller());
    reload_trust(ctx.trust, ctx.config, ctx.issuer_identity, ctx.anchors);
    return json{{"removed", true}, {"role", role_name}, {"sha256", sha}};
}

json capf_certificate(AdminContext& ctx, const json& p) {
    const std::string format = jsonrpc::optional_string(p, "format", "pem");
    const auto& cert = ctx.capf_identity.certificate();
    if (format == "pem")
        return json{{"pem", cert.PEM_encode()}};
    if (format == "der")
        return json{{"der_base64", Botan::base64_encode(cert.BER_encode())}};
    throw Error(ErrorCode::invalid_params, "format must be pem or der");
}

}  // namespace

void register_trust_methods(AdminRegistry& registry) {
    registry.add({"trust.list",
                  Role::read_only,
                  "trust anchors, of one role (lsc-issuer or mic-root) or of every role, each "
                  "with its role and where it came from",
                  {"role"},
                  trust_list});
    registry.add({"trust.add",
                  Role::admin,
                  "add a trust anchor for every node: role, and the CA certificate as pem or "
                  "der_base64",
                  {"role", "pem", "der_base64"},
                  trust_add});
    registry.add({"trust.remove",
                  Role::admin,
                  "remove a trust anchor added with trust.add: role and sha256 (from trust.list)",
                  {"role", "sha256"},
                  trust_remove});
    registry.add({"capf.certificate",
                  Role::read_only,
                  "the CAPF certificate for the ITL/CTL builder: format pem or der (base64)",
                  {"format"},
                  capf_certificate});
}

}  // namespace capf::admin
