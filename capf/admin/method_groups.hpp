// The admin method groups, one source file each.
#pragma once

#include "capf/admin/admin_registry.hpp"

namespace capf::admin {

/// server.version, methods, server.summary, server.stats
void register_server_methods(AdminRegistry& registry);
/// device.add, device.add_bulk, device.update, device.remove, device.get, device.list
void register_device_methods(AdminRegistry& registry);
/// operation.schedule, operation.cancel
void register_schedule_methods(AdminRegistry& registry);
/// auth_string.generate, auth_string.delete, auth_string.pending, auth_string.unlock
void register_auth_string_methods(AdminRegistry& registry);
/// cert.list, cert.revoke
void register_cert_methods(AdminRegistry& registry);
/// trust.list, trust.add, trust.remove, capf.certificate
void register_trust_methods(AdminRegistry& registry);
/// tftp.encrypt, tftp.status, tftp.hashes, tftp.itl, tftp.failures, itl.rollback,
/// ctl.publish, ctl.show
void register_tftp_methods(AdminRegistry& registry);
/// tvs.add, tvs.list, tvs.remove, tvs.export, tvs.export_bundle, tvs.import_bundle
void register_tvs_methods(AdminRegistry& registry);
/// report, audit.query
void register_report_methods(AdminRegistry& registry);

}  // namespace capf::admin
