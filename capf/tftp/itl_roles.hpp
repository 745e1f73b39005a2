// The ITL roles the configuration names (tftp.encryptors[].extra[].role).
#pragma once

#include <string_view>

#include "protocol/signed_file.hpp"

namespace capf::tftp {

/// "ccm", "ccm-tftp", "tftp", "capf", "app-server" or "tvs". Throws
/// EncryptorError naming any other.
protocol::ItlRole itl_role(std::string_view config_name);

}  // namespace capf::tftp
