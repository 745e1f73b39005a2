#include "ca/certificate_facts.hpp"

#include <botan/base64.h>
#include <botan/data_src.h>
#include <botan/hex.h>
#include <botan/pem.h>
#include <botan/x509cert.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>

#include "ca/error.hpp"
#include "ca/fingerprint.hpp"
#include "ca/names.hpp"
#include "protocol/itl_role_names.hpp"

namespace capf::ca {
namespace {

constexpr std::string_view begin_marker = "-----BEGIN ";
constexpr std::string_view end_certificate = "-----END CERTIFICATE-----";
constexpr std::string_view marker_tail = "-----";
/// The TVS answer carries the TTL in 4 bytes; the store in a signed integer.
constexpr std::uint64_t max_ttl_seconds = std::numeric_limits<std::int32_t>::max();

Botan::X509_Certificate parse_der(std::span<const std::uint8_t> der) {
    Botan::DataSource_Memory in(der.data(), der.size());
    return Botan::X509_Certificate(in);
}

std::string minimal_serial_hex(const std::vector<std::uint8_t>& serial) {
    auto first = std::find_if(serial.begin(), serial.end(), [](auto b) { return b != 0; });
    if (first == serial.end())
        return "00";
    return Botan::hex_encode(&*first, static_cast<std::size_t>(serial.end() - first), false);
}

std::chrono::system_clock::time_point clamped_time(const Botan::X509_Time& t) {
    using std::chrono::seconds;
    using std::chrono::system_clock;
    const auto latest =
        std::chrono::duration_cast<seconds>(system_clock::duration::max()) - std::chrono::hours(24);
    const std::uint64_t since = t.time_since_epoch();
    if (since >= static_cast<std::uint64_t>(latest.count()))
        return system_clock::time_point(latest);
    return system_clock::time_point(seconds(static_cast<seconds::rep>(since)));
}

CertificateFacts facts_of(const Botan::X509_Certificate& cert) {
    CertificateFacts f;
    const auto der = cert.BER_encode();
    f.der.assign(der.begin(), der.end());
    f.sha256_hex = sha256_hex(f.der);
    f.subject = dn_text(cert.subject_dn());
    f.issuer = dn_text(cert.issuer_dn());
    f.serial_hex = minimal_serial_hex(cert.serial_number());
    f.not_after = clamped_time(cert.not_after());
    return f;
}

[[noreturn]] void bundle_error(std::size_t line, const std::string& what) {
    throw CaError(CaErrc::malformed_bundle, "line " + std::to_string(line) + ": " + what);
}

std::string lower(std::string_view text) {
    std::string out;
    for (const char c : text)
        out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    return out;
}

std::string_view trimmed(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
        text.remove_prefix(1);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
        text.remove_suffix(1);
    return text;
}

/// A comment line's text as written: control characters as '?'.
std::string comment_safe(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (std::iscntrl(static_cast<unsigned char>(c)))
            c = '?';
    }
    return out;
}

std::vector<protocol::ItlRole> roles_of(std::string_view value, std::size_t line) {
    std::vector<protocol::ItlRole> roles;
    std::string name;
    const auto flush = [&] {
        if (name.empty())
            return;
        const auto role = protocol::parse_itl_role(name);
        if (!role)
            bundle_error(line, "unknown role '" + name + "' in the roles comment; allowed: " +
                                   protocol::itl_role_names());
        roles.push_back(*role);
        name.clear();
    };
    for (const char c : value) {
        if (c == ',' || std::isspace(static_cast<unsigned char>(c))) {
            flush();
        } else {
            name.push_back(c);
        }
    }
    flush();
    return roles;
}

std::chrono::seconds ttl_of(std::string_view value, std::size_t line) {
    std::uint64_t n = 0;
    const char* end = value.data() + value.size();
    const auto [p, ec] = std::from_chars(value.data(), end, n);
    const std::string_view unit(p, static_cast<std::size_t>(end - p));
    std::uint64_t scale = 0;
    if (unit.empty() || unit == "s")
        scale = 1;
    else if (unit == "m")
        scale = 60;
    else if (unit == "h")
        scale = 3600;
    else if (unit == "d")
        scale = 86400;
    if (ec != std::errc{} || p == value.data() || scale == 0 || n == 0 ||
        n > max_ttl_seconds / scale) {
        bundle_error(line, "ttl '" + std::string(value) +
                               "' must be a number of seconds (or with s, m, h or d) from 1s to " +
                               std::to_string(max_ttl_seconds) + "s");
    }
    return std::chrono::seconds(static_cast<std::chrono::seconds::rep>(n * scale));
}

/// What the comments before a block said.
struct Comments {
    std::optional<std::vector<protocol::ItlRole>> roles;
    std::optional<std::chrono::seconds> ttl;
    std::optional<std::string> sha256;
};

void read_comment(std::string_view text, std::size_t line, Comments& into) {
    const auto colon = text.find(':');
    if (colon == std::string_view::npos)
        return;  // prose, such as the bundle's title line
    const std::string key = lower(trimmed(text.substr(0, colon)));
    const std::string_view value = trimmed(text.substr(colon + 1));
    if (key == "roles")
        into.roles = roles_of(value, line);
    else if (key == "ttl")
        into.ttl = ttl_of(value, line);
    else if (key == "sha256")
        into.sha256 = lower(value);
}

/// The certificate of the block from `begin_line` whose base64 is `body`,
/// checked against its comments.
BundleEntry entry_of(const std::string& body, std::size_t begin_line, const Comments& comments) {
    BundleEntry entry;
    entry.line = begin_line;
    try {
        const auto der = Botan::base64_decode(body);
        entry.der.assign(der.begin(), der.end());
        parse_der(entry.der);
    } catch (const std::exception& e) {
        bundle_error(begin_line, std::string("the certificate does not parse: ") + e.what());
    }
    const std::string sha = sha256_hex(entry.der);
    if (comments.sha256 && *comments.sha256 != sha) {
        bundle_error(begin_line, "the sha256 comment says " + *comments.sha256 +
                                     " but the certificate's is " + sha +
                                     " (comments belong to the block below them)");
    }
    entry.roles = comments.roles.value_or(std::vector<protocol::ItlRole>{});
    entry.ttl = comments.ttl;
    return entry;
}

/// The label of a BEGIN line ("CERTIFICATE"), or nothing for any other line.
std::optional<std::string_view> begin_label(std::string_view line) {
    if (line.substr(0, begin_marker.size()) != begin_marker ||
        line.size() < begin_marker.size() + marker_tail.size() ||
        line.substr(line.size() - marker_tail.size()) != marker_tail)
        return std::nullopt;
    return line.substr(begin_marker.size(), line.size() - begin_marker.size() - marker_tail.size());
}

}  // namespace

CertificateFacts certificate_facts(std::span<const std::uint8_t> der_or_pem) {
    const std::string_view text(reinterpret_cast<const char*>(der_or_pem.data()),
                                der_or_pem.size());
    if (text.find(begin_marker) != std::string_view::npos) {
        std::vector<BundleEntry> entries;
        try {
            entries = parse_pem_bundle(text);
        } catch (const CaError& e) {
            throw CaError(CaErrc::malformed_certificate,
                          std::string("not a PEM certificate: ") + e.what());
        }
        if (entries.size() != 1) {
            throw CaError(CaErrc::malformed_certificate,
                          "the PEM text holds " + std::to_string(entries.size()) +
                              " certificates; give one, or import it as a bundle");
        }
        return facts_of(parse_der(entries.front().der));
    }
    try {
        return facts_of(parse_der(der_or_pem));
    } catch (const std::exception& e) {
        throw CaError(CaErrc::malformed_certificate,
                      std::string("not a PEM or DER X.509 certificate: ") + e.what());
    }
}

std::string write_pem_bundle(const std::vector<BundleEntry>& entries) {
    std::string out = "# capfd trusted certificates (TVS): roles and TTL above each certificate\n";
    for (const auto& entry : entries) {
        CertificateFacts f;
        try {
            f = facts_of(parse_der(entry.der));
        } catch (const std::exception& e) {
            throw CaError(CaErrc::malformed_certificate,
                          std::string("not a DER X.509 certificate: ") + e.what());
        }
        out += "\n# subject: " + comment_safe(f.subject) + "\n";
        out += "# issuer: " + comment_safe(f.issuer) + "\n";
        out += "# sha256: " + f.sha256_hex + "\n";
        if (!entry.roles.empty()) {
            out += "# roles:";
            for (std::size_t i = 0; i < entry.roles.size(); ++i)
                out += (i > 0 ? ", " : " ") + std::string(protocol::itl_role_name(entry.roles[i]));
            out += "\n";
        }
        if (entry.ttl)
            out += "# ttl: " + std::to_string(entry.ttl->count()) + "\n";
        out += Botan::PEM_Code::encode(f.der, "CERTIFICATE");
    }
    return out;
}

std::vector<BundleEntry> parse_pem_bundle(std::string_view text) {
    std::vector<BundleEntry> out;
    Comments comments;
    std::size_t block_line = 0;  // of the block's BEGIN line; 0 outside a block
    std::string body;
    std::size_t number = 0;
    while (!text.empty()) {
        const auto eol = text.find('\n');
        std::string_view line = trimmed(text.substr(0, eol));
        text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
        ++number;
        if (block_line != 0) {
            if (line == end_certificate) {
                if (out.size() == max_bundle_certificates)
                    bundle_error(block_line, "more than " +
                                                 std::to_string(max_bundle_certificates) +
                                                 " certificates in one bundle");
                out.push_back(entry_of(body, block_line, comments));
                block_line = 0;
                comments = Comments{};
                body.clear();
            } else {
                body += line;
            }
        } else if (const auto label = begin_label(line)) {
            if (*label != "CERTIFICATE")
                bundle_error(number, "a PEM block of " + std::string(*label) +
                                         ", not a certificate (a bundle holds certificates only)");
            block_line = number;
        } else if (!line.empty() && line.front() == '#') {
            read_comment(line.substr(1), number, comments);
        }
    }
    if (block_line != 0)
        bundle_error(block_line, "the certificate begun here has no END CERTIFICATE line");
    if (out.empty())
        throw CaError(CaErrc::malformed_bundle,
                      "no certificate in the bundle (no BEGIN CERTIFICATE line)");
    return out;
}

}  // namespace capf::ca
