// The schema, as numbered migrations applied at start.
#pragma once

#include "storage/connection_pool_fwd.hpp"
#include "storage/error.hpp"

namespace capf::storage {

/// Applies every migration not yet recorded in schema_migrations, each in
/// its own transaction, under an advisory lock so that capfd processes
/// starting together do not race. Idempotent. Returns the schema version.
int apply_migrations(ConnectionPool& pool);

/// The version the code expects (the highest migration number).
int latest_schema_version() noexcept;

}  // namespace capf::storage
