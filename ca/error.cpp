#include "ca/error.hpp"

namespace capf::ca {

std::string_view errc_name(CaErrc code) noexcept {
    switch (code) {
        case CaErrc::malformed_public_key:
            return "malformed_public_key";
        case CaErrc::key_mismatch:
            return "key_mismatch";
        case CaErrc::unsupported_key_spec:
            return "unsupported_key_spec";
        case CaErrc::file_unreadable:
            return "file_unreadable";
        case CaErrc::key_file_too_open:
            return "key_file_too_open";
        case CaErrc::bad_passphrase:
            return "bad_passphrase";
        case CaErrc::identity_mismatch:
            return "identity_mismatch";
        case CaErrc::not_a_ca:
            return "not_a_ca";
        case CaErrc::issuer_expired:
            return "issuer_expired";
        case CaErrc::write_failed:
            return "write_failed";
        case CaErrc::malformed_certificate:
            return "malformed_certificate";
        case CaErrc::certificate_expired:
            return "certificate_expired";
        case CaErrc::malformed_bundle:
            return "malformed_bundle";
    }
    return "unknown";
}

}  // namespace capf::ca
