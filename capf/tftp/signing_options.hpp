// How every file of the TFTP side is signed: the configured digest, and the
// time of signing as the header's timestamp (protocol/README.md, 8.1).
#pragma once

#include "ca/tftp_files.hpp"
#include "capf/common/config.hpp"

namespace capf::tftp {

/// `hash` as the signature's digest, now as the timestamp.
ca::SignedFileOptions signing_options(TftpFileHash hash);

}  // namespace capf::tftp
