#include "ca/binding.hpp"

#include <string>

namespace capf::ca {
namespace {

bool is_hex_digit(char c) noexcept {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool is_token_char(char c) noexcept {
    const auto u = static_cast<unsigned char>(c);
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || u >= 0x80;
}

char upper(char c) noexcept {
    return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

std::string upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        c = upper(c);
    return out;
}

/// SEP001122334455 -> 001122334455; empty when the name ends in no MAC, or
/// in a longer run of hex digits (whose last 12 would be a guess).
std::string mac_of(std::string_view device_name) {
    constexpr std::size_t mac_digits = 12;
    if (device_name.size() < mac_digits)
        return {};
    const auto start = device_name.size() - mac_digits;
    const auto mac = device_name.substr(start);
    for (char c : mac) {
        if (!is_hex_digit(c))
            return {};
    }
    if (start > 0 && is_hex_digit(device_name[start - 1]))
        return {};
    return upper(mac);
}

}  // namespace

bool equals_ignoring_case(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (upper(a[i]) != upper(b[i]))
            return false;
    }
    return true;
}

bool names_device(std::string_view text, std::string_view device_name) {
    const std::string mac = mac_of(device_name);
    if (mac.empty())
        return false;
    const std::string sep_mac = "SEP" + mac;
    std::size_t i = 0;
    while (i < text.size()) {
        if (!is_token_char(text[i])) {
            ++i;
            continue;
        }
        std::size_t end = i;
        while (end < text.size() && is_token_char(text[end]))
            ++end;
        const auto token = text.substr(i, end - i);
        if (equals_ignoring_case(token, mac) || equals_ignoring_case(token, sep_mac))
            return true;
        i = end;
    }
    return false;
}

}  // namespace capf::ca
