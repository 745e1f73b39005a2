#include "capf/tftp/registry.hpp"

#include <type_traits>

#include "capf/tftp/ctl_encryptor.hpp"
#include "capf/tftp/enc_sgn_encryptor.hpp"
#include "capf/tftp/exec_encryptor.hpp"
#include "capf/tftp/itl_encryptor.hpp"

namespace capf::tftp {
namespace {

std::unique_ptr<Encryptor> make_one(const EncryptorConfig& config, const Config::Tftp& tftp,
                                    const TftpDependencies& deps) {
    return std::visit(
        [&](const auto& settings) -> std::unique_ptr<Encryptor> {
            using T = std::decay_t<decltype(settings)>;
            if constexpr (std::is_same_v<T, EncSgnEncryptorConfig>) {
                return std::make_unique<EncSgnEncryptor>(settings, tftp.directory,
                                                         deps.tftp_identity);
            } else if constexpr (std::is_same_v<T, ItlEncryptorConfig>) {
                if (!deps.capf_certificate)
                    throw std::runtime_error("itl encryptor: no CAPF certificate given");
                return std::make_unique<ItlEncryptor>(settings, tftp.directory, deps.tftp_identity,
                                                      *deps.capf_certificate,
                                                      deps.tvs_certificates);
            } else if constexpr (std::is_same_v<T, CtlEncryptorConfig>) {
                if (!deps.capf_certificate)
                    throw std::runtime_error("ctl encryptor: no CAPF certificate given");
                return std::make_unique<CtlEncryptor>(settings, tftp.directory, deps.tftp_identity,
                                                      *deps.capf_certificate);
            } else if constexpr (std::is_same_v<T, ExecEncryptorConfig>) {
                return std::make_unique<ExecEncryptor>(settings);
            } else {
                static_assert(std::is_same_v<T, HashesFileEncryptorConfig>);
                return std::make_unique<HashesFileEncryptor>(settings, deps.device_pages);
            }
        },
        config);
}

}  // namespace

Encryptors make_encryptors(const Config& config, const TftpDependencies& deps) {
    Encryptors out;
    if (!config.tftp)
        return out;
    for (const auto& e : config.tftp->encryptors)
        out.push_back(make_one(e, *config.tftp, deps));
    return out;
}

}  // namespace capf::tftp
