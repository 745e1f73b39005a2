// How the admin methods are registered: each with the role it needs, its
// summary and every parameter it accepts, bound to the AdminContext, and with the one mapping
// of storage errors to JSON-RPC errors.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "capf/admin/jsonrpc.hpp"
#include "capf/admin/methods.hpp"
#include "storage/error.hpp"

namespace capf::admin {

using jsonrpc::json;
using jsonrpc::Role;

/// Reads the request's params (only the declared ones reach it) and returns
/// the result. Throws jsonrpc::Error, or storage::StorageError, which the
/// registry turns into a JSON-RPC error (see rpc_error).
using Handler = std::function<json(AdminContext& context, const json& params)>;

/// Every method says which role it needs, where it is registered:
/// read_only only for methods that change nothing, start no work and reveal
/// no secret (tests/capf/admin_methods_test.cpp holds the whole table, so a
/// new method, or a change of role, shows up in review).
struct AdminMethod {
    std::string name;
    jsonrpc::Role needs;
    std::string summary;
    std::vector<std::string> params;  ///< every parameter accepted; required
    Handler handler;
};

/// The JSON-RPC error for a storage error, keeping its message: bad names and
/// values are invalid_params, a missing device not_found, a clash or lost
/// lease conflict, an unreachable or exhausted database unavailable. Nothing
/// was changed: every storage call is one transaction.
jsonrpc::Error rpc_error(const storage::StorageError& e);

class AdminRegistry {
  public:
    /// Lifetime: both must outlive every request.
    AdminRegistry(jsonrpc::Registry& registry, AdminContext& context)
        : registry_(registry), context_(context) {}

    /// Registers the method on the JSON-RPC registry, bound to the context.
    void add(AdminMethod method);
    const jsonrpc::Registry& registry() const noexcept { return registry_; }

  private:
    jsonrpc::Registry& registry_;
    AdminContext& context_;
};

}  // namespace capf::admin
