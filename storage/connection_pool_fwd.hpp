// The connection pool by name only: a repository holds a reference to it, so
// its header need not bring libpqxx to every caller in capf/ (only the
// repositories' own .cpp files and whoever creates the pool see it).
#pragma once

namespace capf::storage {

class ConnectionPool;

}  // namespace capf::storage
