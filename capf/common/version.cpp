#include "capf/common/version.hpp"

namespace capf {

std::string_view version() noexcept {
    return CAPF_VERSION;
}

}  // namespace capf
