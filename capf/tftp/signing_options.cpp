#include "capf/tftp/signing_options.hpp"

#include <chrono>

namespace capf::tftp {

ca::SignedFileOptions signing_options(TftpFileHash hash) {
    ca::SignedFileOptions options;
    options.hash =
        hash == TftpFileHash::sha1 ? protocol::FileHash::sha1 : protocol::FileHash::sha512;
    options.timestamp =
        static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count());
    return options;
}

}  // namespace capf::tftp
