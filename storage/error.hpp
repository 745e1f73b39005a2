// Typed errors of the storage module.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace capf::storage {

enum class StorageErrc {
    invalid_device_name,  ///< not 1-64 of A-Za-z0-9._-
    invalid_value,        ///< an enumerated or formatted value outside what is allowed
    not_found,            ///< no such device
    already_exists,       ///< a device of that name exists
    lease_lost,           ///< this node no longer holds the operation's lease
    unreachable,          ///< the database cannot be reached
    pool_exhausted,       ///< no connection became free in time
    conflict,             ///< the state changed under us (e.g. no pending operation)
    timeout,              ///< statement_timeout or lock_timeout cancelled a statement
};

std::string_view errc_name(StorageErrc code) noexcept;

class StorageError : public std::runtime_error {
  public:
    StorageError(StorageErrc code, const std::string& message)
        : std::runtime_error(message), code_(code) {}
    StorageErrc code() const noexcept { return code_; }

  private:
    StorageErrc code_;
};

}  // namespace capf::storage
