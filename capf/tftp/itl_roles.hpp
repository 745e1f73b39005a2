// The ITL roles the configuration names (tftp.encryptors[].extra[].role).
#pragma once

#include <string>
#include <string_view>

#include "protocol/signed_file.hpp"

namespace capf::tftp {

/// "ccm", "ccm-tftp", "tftp", "capf", "app-server" or "tvs". Throws
/// EncryptorError naming any other.
protocol::ItlRole itl_role(std::string_view config_name);
/// The role's name for people: "sast", then the configuration's names
/// ("ccm", ..., "tvs"); another number as its decimal text.
std::string itl_role_name(protocol::ItlRole role);

}  // namespace capf::tftp
