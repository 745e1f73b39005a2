#include "ca/names.hpp"

#include <map>

namespace capf::ca {

std::string dn_text(const Botan::X509_DN& dn) {
    static const std::map<std::string, std::string> short_names = {
        {"2.5.4.3", "CN"},           {"2.5.4.10", "O"},
        {"2.5.4.11", "OU"},          {"2.5.4.7", "L"},
        {"2.5.4.8", "ST"},           {"2.5.4.6", "C"},
        {"2.5.4.5", "serialNumber"}, {"1.2.840.113549.1.9.1", "emailAddress"}};
    std::string out;
    for (const auto& [oid, value] : dn.dn_info()) {
        const auto it = short_names.find(oid.to_string());
        out += out.empty() ? "" : ", ";
        out += it != short_names.end() ? it->second : oid.to_string();
        out += '=';
        for (char c : value.value()) {
            if (c == ',' || c == '+' || c == '"' || c == '\\')
                out += '\\';
            out += c;
        }
    }
    return out;
}

}  // namespace capf::ca
