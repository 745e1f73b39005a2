// cert.list, cert.revoke
#include <algorithm>
#include <cctype>

#include "capf/admin/method_groups.hpp"
#include "capf/admin/params.hpp"

namespace capf::admin {

namespace {

json certificate_json(const storage::IssuedCertificateInfo& c) {
    return json{
        {"serial", c.serial_hex},
        {"md5", c.md5_hex},
        {"not_before", iso8601(c.not_before)},
        {"not_after", iso8601(c.not_after)},
        {"issued_at", iso8601(c.issued_at)},
        {"node", c.node},
        {"confirmed", c.confirmed},
        {"standing", std::string(storage::to_text(c.standing))},
        {"revoked_at", c.revoked_at ? json(iso8601(*c.revoked_at)) : json(nullptr)},
        {"revoked_reason", c.revoked_reason.empty() ? json(nullptr) : json(c.revoked_reason)}};
}

json cert_list(AdminContext& ctx, const json& p) {
    json out = json::array();
    for (const auto& c : ctx.certificates.list_certificates(jsonrpc::require_string(p, "device")))
        out.push_back(certificate_json(c));
    return out;
}

json cert_revoke(AdminContext& ctx, const json& p) {
    std::string serial = jsonrpc::require_string(p, "serial");
    ctx.certificates.revoke_certificate(serial, jsonrpc::current_caller());
    // As cert.list shows it: the issuer writes serials in lower case.
    std::transform(serial.begin(), serial.end(), serial.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return json{{"serial", serial}, {"revoked", true}};
}

}  // namespace

void register_cert_methods(AdminRegistry& registry) {
    registry.add({"cert.list",
                  Role::read_only,
                  "the certificates issued to a device, newest first, with their standing",
                  {"device"},
                  cert_list});
    registry.add({"cert.revoke",
                  Role::admin,
                  "revoke an issued certificate: it no longer authenticates its phone",
                  {"serial"},
                  cert_revoke});
}

}  // namespace capf::admin
