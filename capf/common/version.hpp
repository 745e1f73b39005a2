#pragma once

#include <string_view>

namespace capf {

/// The release of capfd and capfctl, from the CMake project version.
std::string_view version() noexcept;

}  // namespace capf
