#include "capf/admin/admin_registry.hpp"

#include <utility>

namespace capf::admin {

using jsonrpc::Error;
using jsonrpc::ErrorCode;
using storage::StorageErrc;

jsonrpc::Error rpc_error(const storage::StorageError& e) {
    switch (e.code()) {
        case StorageErrc::invalid_device_name:
        case StorageErrc::invalid_value:
            return Error(ErrorCode::invalid_params, e.what());
        case StorageErrc::not_found:
            return Error(ErrorCode::not_found, e.what());
        case StorageErrc::already_exists:
        case StorageErrc::conflict:
        case StorageErrc::lease_lost:
            return Error(ErrorCode::conflict, e.what());
        case StorageErrc::unreachable:
        case StorageErrc::pool_exhausted:
        case StorageErrc::timeout:
            return Error(ErrorCode::unavailable, e.what());
    }
    return Error(ErrorCode::unavailable, e.what());
}

void AdminRegistry::add(AdminMethod method) {
    jsonrpc::Method bound = [&context = context_,
                             handler = std::move(method.handler)](const json& params) {
        try {
            return handler(context, params);
        } catch (const storage::StorageError& e) {
            throw rpc_error(e);
        }
    };
    registry_.add({std::move(method.name), method.needs, std::move(method.summary),
                   std::move(method.params), std::move(bound)});
}

}  // namespace capf::admin
