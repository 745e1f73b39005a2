#include "capf/tftp/itl_roles.hpp"

#include <array>
#include <string>
#include <utility>

#include "capf/tftp/encryptor.hpp"

namespace capf::tftp {

protocol::ItlRole itl_role(std::string_view config_name) {
    using protocol::ItlRole;
    static constexpr std::array<std::pair<std::string_view, ItlRole>, 6> roles = {{
        {"ccm", ItlRole::ccm},
        {"ccm-tftp", ItlRole::ccm_tftp},
        {"tftp", ItlRole::tftp},
        {"capf", ItlRole::capf},
        {"app-server", ItlRole::app_server},
        {"tvs", ItlRole::tvs},
    }};
    for (const auto& [name, role] : roles) {
        if (name == config_name)
            return role;
    }
    throw EncryptorError("itl: unknown role \"" + std::string(config_name) +
                         "\"; allowed: ccm, ccm-tftp, tftp, capf, app-server, tvs");
}

}  // namespace capf::tftp
