#include "capf/service/auth_string.hpp"

#include <botan/hex.h>
#include <botan/mem_ops.h>
#include <botan/pwdhash.h>
#include <botan/system_rng.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace capf {
namespace {

constexpr std::size_t salt_bytes = 16;
constexpr std::size_t hash_bytes = 32;

std::vector<std::uint8_t> derive(std::string_view secret, const std::vector<std::uint8_t>& salt,
                                 std::size_t rounds) {
    auto family = Botan::PasswordHashFamily::create_or_throw("PBKDF2(SHA-256)");
    auto hasher = family->from_iterations(rounds);
    std::vector<std::uint8_t> out(hash_bytes);
    hasher->derive_key(out.data(), out.size(), secret.data(), secret.size(), salt.data(),
                       salt.size());
    return out;
}

}  // namespace

bool valid_auth_string(std::string_view s) noexcept {
    if (s.size() < min_auth_string_length || s.size() > max_auth_string_length)
        return false;
    for (char c : s) {
        if (c < '0' || c > '9')
            return false;
    }
    return true;
}

std::string random_auth_string(std::size_t digits) {
    if (digits < min_auth_string_length || digits > max_auth_string_length) {
        throw std::invalid_argument("auth strings have 4 to 10 digits");
    }
    std::string out;
    while (out.size() < digits) {
        std::uint8_t b = 0;
        Botan::system_rng().randomize(&b, 1);
        if (b < 250) {  // reject 250-255 so every digit is equally likely
            out.push_back(static_cast<char>('0' + b % 10));
        }
    }
    return out;
}

std::string hash_auth_string(std::string_view auth_string, unsigned iterations) {
    std::vector<std::uint8_t> salt(salt_bytes);
    Botan::system_rng().randomize(salt.data(), salt.size());
    const auto hash = derive(auth_string, salt, iterations);
    return "pbkdf2-sha256$" + std::to_string(iterations) + "$" + Botan::hex_encode(salt, false) +
           "$" + Botan::hex_encode(hash, false);
}

std::vector<std::string> hash_auth_strings(const std::vector<std::string>& secrets,
                                           unsigned iterations, unsigned threads) {
    std::vector<std::string> out(secrets.size());
    const std::size_t n =
        std::max<std::size_t>(1, std::min<std::size_t>(threads, (secrets.size() + 63) / 64));
    std::atomic<std::size_t> next{0};
    std::exception_ptr failure;
    std::mutex failure_mutex;
    auto work = [&] {
        try {
            for (std::size_t i = next++; i < secrets.size(); i = next++)
                out[i] = hash_auth_string(secrets[i], iterations);
        } catch (...) {
            const std::lock_guard lock(failure_mutex);
            failure = std::current_exception();
        }
    };
    std::vector<std::thread> helpers;
    for (std::size_t t = 1; t < n; ++t)
        helpers.emplace_back(work);
    work();
    for (auto& t : helpers)
        t.join();
    if (failure)
        std::rethrow_exception(failure);
    return out;
}

bool check_auth_string(std::string_view auth_string, std::string_view stored) {
    // pbkdf2-sha256$<iterations>$<salt>$<hash>
    const std::string prefix = "pbkdf2-sha256$";
    if (stored.substr(0, prefix.size()) != prefix)
        return false;
    const auto rest = stored.substr(prefix.size());
    const auto d1 = rest.find('$');
    const auto d2 = rest.find('$', d1 == std::string_view::npos ? d1 : d1 + 1);
    if (d1 == std::string_view::npos || d2 == std::string_view::npos)
        return false;
    try {
        const std::size_t rounds = std::stoul(std::string(rest.substr(0, d1)));
        if (rounds < 1000 || rounds > 10'000'000)
            return false;
        const auto salt = Botan::hex_decode(std::string(rest.substr(d1 + 1, d2 - d1 - 1)));
        const auto expected = Botan::hex_decode(std::string(rest.substr(d2 + 1)));
        if (expected.size() != hash_bytes)
            return false;
        const auto actual =
            derive(auth_string, std::vector<std::uint8_t>(salt.begin(), salt.end()), rounds);
        return Botan::constant_time_compare(actual.data(), expected.data(), hash_bytes);
    } catch (const std::exception&) {
        return false;
    }
}

}  // namespace capf
