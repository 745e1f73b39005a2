// The names people give the ITL roles (section 9's numbers): one table for
// every place that reads or shows them (the TFTP side's configuration, the
// TVS store's admin methods and bundles, capfctl), so "app-server" means the
// same everywhere.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/signed_file.hpp"

namespace capf::protocol {

/// Every ITL role, in number order.
inline constexpr ItlRole all_itl_roles[] = {ItlRole::sast, ItlRole::ccm,  ItlRole::ccm_tftp,
                                            ItlRole::tftp, ItlRole::capf, ItlRole::app_server,
                                            ItlRole::tvs};

/// "sast", "ccm", "ccm-tftp", "tftp", "capf", "app-server" or "tvs".
std::string_view itl_role_name(ItlRole role) noexcept;

/// The role a name stands for, in any case ("CCM", "App-Server"): people
/// write them as the ITL documentation does, in capitals. Nothing for any
/// other text.
std::optional<ItlRole> parse_itl_role(std::string_view name) noexcept;

/// The role with this number (section 9), or nothing for a number no role has.
std::optional<ItlRole> itl_role_from_number(std::uint16_t number) noexcept;

/// "sast, ccm, ccm-tftp, tftp, capf, app-server, tvs": for messages that list
/// what is allowed.
std::string itl_role_names();

}  // namespace capf::protocol
