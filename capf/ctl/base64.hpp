// Base64 (RFC 4648, with padding) for certificates crossing the admin
// socket as JSON: capfctl needs only this of a crypto library, so it links
// none.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace capf::ctl {

std::string base64_encode(const std::vector<std::uint8_t>& bytes);
/// Nothing when `text` is not base64 (line breaks and spaces are skipped).
std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text);

}  // namespace capf::ctl
