#include "ca/key_spec.hpp"

#include <algorithm>

namespace capf::ca {
namespace {

using A = KeySpec::Algorithm;

constexpr KeySpec phone_specs[] = {{A::rsa, 512},  {A::rsa, 1024}, {A::rsa, 2048}, {A::rsa, 3072},
                                   {A::rsa, 4096}, {A::ec, 256},   {A::ec, 384},   {A::ec, 521}};
constexpr KeySpec identity_specs[] = {
    {A::rsa, 2048}, {A::rsa, 3072}, {A::rsa, 4096}, {A::ec, 256}, {A::ec, 384}};

std::optional<KeySpec> parse_one_of(std::string_view text, std::span<const KeySpec> specs) {
    for (const auto& spec : specs) {
        if (spec.text() == text)
            return spec;
    }
    return std::nullopt;
}

}  // namespace

std::string KeySpec::text() const {
    return algorithm == Algorithm::rsa ? "rsa-" + std::to_string(bits)
                                       : "ec-p" + std::to_string(bits);
}

std::span<const KeySpec> phone_key_specs() noexcept {
    return phone_specs;
}

std::span<const KeySpec> identity_key_specs() noexcept {
    return identity_specs;
}

std::string key_spec_list(std::span<const KeySpec> specs) {
    std::string out;
    for (const auto& spec : specs) {
        out += out.empty() ? "" : ", ";
        out += spec.text();
    }
    return out;
}

std::optional<KeySpec> parse_key_spec(std::string_view text) {
    return parse_one_of(text, phone_specs);
}

std::optional<KeySpec> parse_identity_key_spec(std::string_view text) {
    return parse_one_of(text, identity_specs);
}

bool is_one_of(const KeySpec& spec, std::span<const KeySpec> specs) noexcept {
    return std::find(specs.begin(), specs.end(), spec) != specs.end();
}

}  // namespace capf::ca
