// Whether a certificate's names belong to a device (protocol/README.md,
// sections 5.2 and 5.3).
#pragma once

#include <string_view>

namespace capf::ca {

/// True when `text` contains SEP<MAC> or <MAC> of `device_name` as a whole token: tokens are
/// maximal runs of letters and digits; comparison ignores case. MAC = the last 12 hex digits of the
/// device name, only when the character before them is not a hex digit (SEP001122334455 ->
/// 001122334455; a name without such a MAC binds nothing). Bytes outside ASCII count as letters:
/// they never split a token, so they can only make a match less likely.
bool names_device(std::string_view text, std::string_view device_name);

/// An LSC binds by its CN: equal to the device name, ignoring case.
bool equals_ignoring_case(std::string_view a, std::string_view b) noexcept;

}  // namespace capf::ca
