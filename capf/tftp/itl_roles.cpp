#include "capf/tftp/itl_roles.hpp"

#include <array>
#include <string>
#include <utility>

#include "capf/tftp/encryptor.hpp"

namespace capf::tftp {

namespace {

using protocol::ItlRole;
constexpr std::array<std::pair<std::string_view, ItlRole>, 6> roles = {{
    {"ccm", ItlRole::ccm},
    {"ccm-tftp", ItlRole::ccm_tftp},
    {"tftp", ItlRole::tftp},
    {"capf", ItlRole::capf},
    {"app-server", ItlRole::app_server},
    {"tvs", ItlRole::tvs},
}};

}  // namespace

std::string itl_role_name(protocol::ItlRole role) {
    if (role == ItlRole::sast)
        return "sast";
    for (const auto& [name, value] : roles) {
        if (value == role)
            return std::string(name);
    }
    return std::to_string(static_cast<unsigned>(role));
}

protocol::ItlRole itl_role(std::string_view config_name) {
    for (const auto& [name, role] : roles) {
        if (name == config_name)
            return role;
    }
    throw EncryptorError("itl: unknown role \"" + std::string(config_name) +
                         "\"; allowed: ccm, ccm-tftp, tftp, capf, app-server, tvs");
}

}  // namespace capf::tftp
