#include "protocol/itl_role_names.hpp"

#include <cctype>

namespace capf::protocol {

std::string_view itl_role_name(ItlRole role) noexcept {
    switch (role) {
        case ItlRole::sast:
            return "sast";
        case ItlRole::ccm:
            return "ccm";
        case ItlRole::ccm_tftp:
            return "ccm-tftp";
        case ItlRole::tftp:
            return "tftp";
        case ItlRole::capf:
            return "capf";
        case ItlRole::app_server:
            return "app-server";
        case ItlRole::tvs:
            return "tvs";
    }
    return "unknown";
}

std::optional<ItlRole> parse_itl_role(std::string_view name) noexcept {
    for (const ItlRole role : all_itl_roles) {
        const std::string_view known = itl_role_name(role);
        if (known.size() != name.size())
            continue;
        bool same = true;
        for (std::size_t i = 0; i < known.size() && same; ++i)
            same = std::tolower(static_cast<unsigned char>(name[i])) == known[i];
        if (same)
            return role;
    }
    return std::nullopt;
}

std::optional<ItlRole> itl_role_from_number(std::uint16_t number) noexcept {
    for (const ItlRole role : all_itl_roles) {
        if (static_cast<std::uint16_t>(role) == number)
            return role;
    }
    return std::nullopt;
}

std::string itl_role_names() {
    std::string out;
    for (const ItlRole role : all_itl_roles) {
        if (!out.empty())
            out += ", ";
        out += itl_role_name(role);
    }
    return out;
}

}  // namespace capf::protocol
