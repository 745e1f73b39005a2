// tftp.encrypt, tftp.status, tftp.hashes, tftp.itl (issue 12), tftp.failures (issue 32),
// itl.rollback, ctl.publish, ctl.show (issue 34)
#include <botan/base64.h>

#include <algorithm>

#include "capf/admin/method_groups.hpp"
#include "capf/admin/params.hpp"

namespace capf::admin {

namespace {

using jsonrpc::Error;
using jsonrpc::ErrorCode;

storage::DeliveryRepository& deliveries(AdminContext& ctx) {
    if (ctx.deliveries == nullptr)
        throw Error(ErrorCode::invalid_request,
                    "the TFTP side is off: configure \"tftp\" (deploy/CONFIG.md)");
    return *ctx.deliveries;
}

json tftp_encrypt(AdminContext& ctx, const json& p) {
    auto& outbox = deliveries(ctx);
    const auto device = opt_string(p, "device");
    if (opt_bool(p, "all") == device.has_value())
        throw Error(ErrorCode::invalid_params, "give \"device\" or \"all\": true, not both");
    if (device) {
        outbox.request_delivery(*device, jsonrpc::current_caller());
        return json{{"requested", 1}};
    }
    return json{{"requested", outbox.request_delivery_all(jsonrpc::current_caller())}};
}

json tftp_status(AdminContext& ctx, const json&) {
    const auto s = deliveries(ctx).delivery_stats();
    return json{
        {"pending", s.pending},
        {"failing", s.failing},
        {"delivered_last_hour", s.delivered_last_hour},
        {"parked", s.parked},
        {"last_error", s.last_error},
        {"last_error_at", s.last_error_at ? json(iso8601(*s.last_error_at)) : json(nullptr)},
        {"oldest_pending", s.oldest_pending ? json(iso8601(*s.oldest_pending)) : json(nullptr)}};
}

json facts_json(const storage::DeviceFacts& f) {
    return json{{"name", f.name}, {"md5", f.md5_hex}, {"key_spec", f.key_spec}};
}

json tftp_hashes(AdminContext& ctx, const json& p) {
    auto& outbox = deliveries(ctx);
    json out = json::array();
    if (const auto device = opt_string(p, "device")) {
        const auto facts = outbox.device_facts(*device);
        if (!facts)
            throw Error(ErrorCode::not_found, "no device " + *device);
        out.push_back(facts_json(*facts));
        return json{{"devices", out}};
    }
    const std::string prefix = opt_string(p, "prefix").value_or("");
    const std::size_t limit = opt_size(p, "limit", 100000, 1, 1000000);
    std::string after = opt_string(p, "after").value_or("");
    // Paged underneath so one call never holds a huge result in the database.
    constexpr std::size_t page_size = 1000;
    for (;;) {
        const std::size_t wanted = std::min(page_size, limit - out.size());
        const auto page = outbox.all_device_facts(prefix, after, wanted);
        for (const auto& f : page)
            out.push_back(facts_json(f));
        if (page.size() < wanted || out.size() == limit)
            break;
        after = page.back().name;
    }
    return json{{"devices", out}};
}

/// Deliveries parked until their cause changes, by device and encryptor.
json tftp_failures(AdminContext& ctx, const json& p) {
    auto& outbox = deliveries(ctx);
    const storage::DeliveryRepository::ParkedFilter filter{opt_string(p, "device").value_or(""), "",
                                                           opt_string(p, "cause").value_or("")};
    const std::size_t limit = opt_size(p, "limit", 100000, 1, 1000000);
    json out = json::array();
    // Paged underneath so one call never holds a huge result in the database.
    constexpr std::size_t page_size = 1000;
    std::string after_device, after_encryptor;
    for (;;) {
        const std::size_t wanted = std::min(page_size, limit - out.size());
        const auto page = outbox.parked_deliveries(filter, after_device, after_encryptor, wanted);
        for (const auto& f : page) {
            out.push_back({{"device", f.device},
                           {"encryptor", f.encryptor},
                           {"cause", f.cause},
                           {"error", f.error},
                           {"since", iso8601(f.since)},
                           {"last_failed_at", iso8601(f.last_failed_at)}});
        }
        if (page.size() < wanted || out.size() == limit)
            break;
        after_device = page.back().device;
        after_encryptor = page.back().encryptor;
    }
    return json{{"failures", out}};
}

json tftp_itl(AdminContext& ctx, const json&) {
    if (!ctx.build_itl)
        throw Error(ErrorCode::invalid_request,
                    "no TFTP identity: configure tftp.identity and run capfd init --tftp");
    const auto [bytes, records] = ctx.build_itl();
    return json{{"itl_base64", Botan::base64_encode(bytes)}, {"records", records}};
}

/// Runs a TFTP-side action; its errors (no ctl encryptor, a SAST file that
/// cannot be read) are the caller's to fix, not capfd's.
template <typename Action>
json tftp_action(Action&& action) {
    try {
        return action();
    } catch (const Error&) {
        throw;
    } catch (const storage::StorageError&) {
        throw;
    } catch (const std::exception& e) {
        throw Error(ErrorCode::invalid_request, e.what());
    }
}

json ctl_publish(AdminContext& ctx, const json& p) {
    if (!ctx.publish_ctl)
        throw Error(ErrorCode::invalid_request,
                    "the TFTP side is off: configure \"tftp\" (deploy/CONFIG.md)");
    const json result =
        tftp_action([&] { return ctx.publish_ctl(opt_bool(p, "allow_new_signer")); });
    if (!result.value("published", false))
        throw Error(ErrorCode::conflict, result.value("refusal", std::string("not published")),
                    result);
    return result;
}

json ctl_show(AdminContext& ctx, const json&) {
    if (!ctx.show_ctl)
        throw Error(ErrorCode::invalid_request,
                    "the TFTP side is off: configure \"tftp\" (deploy/CONFIG.md)");
    return tftp_action([&] { return ctx.show_ctl(); });
}

json itl_rollback(AdminContext& ctx, const json& p) {
    const auto on = p.find("on");
    if (on == p.end() || !on->is_boolean())
        throw Error(ErrorCode::invalid_params, "give \"on\": true or false");
    const bool changed = ctx.cluster_settings.set_flag(storage::itl_rollback_setting,
                                                       on->get<bool>(), jsonrpc::current_caller());
    if (ctx.apply_itl_rollback)
        ctx.apply_itl_rollback();
    const bool configured = itl_rollback_configured(ctx.config);
    json out = {{"itl_rollback", configured || on->get<bool>()},
                {"stored", on->get<bool>()},
                {"configured", configured},
                {"changed", changed}};
    if (configured && !on->get<bool>())
        out["note"] =
            "tftp.encryptors[].rollback is true in this node's configuration: it keeps "
            "publishing the rollback ITL until that is removed";
    return out;
}

}  // namespace

void register_tftp_methods(AdminRegistry& registry) {
    registry.add({"tftp.encrypt",
                  Role::admin,
                  "run the configured encryptors for one device or all (queued, delivered soon)",
                  {"device", "all"},
                  tftp_encrypt});
    registry.add({"tftp.status",
                  Role::read_only,
                  "deliveries to the TFTP side: pending, failing, last error",
                  {},
                  tftp_status});
    registry.add({"tftp.hashes",
                  Role::read_only,
                  "device name, certificate MD5 and key spec",
                  {"device", "prefix", "after", "limit"},
                  tftp_hashes});
    // Changes nothing, but each call is a private-key signature with the TFTP
    // identity: not for read-only callers.
    registry.add({"tftp.itl",
                  Role::admin,
                  "a freshly built ITLFile.tlv, signed by the TFTP identity",
                  {},
                  tftp_itl});
    registry.add({"tftp.failures",
                  Role::read_only,
                  "deliveries parked until their cause changes (an EC key for enc-sgn, no "
                  "source file): device, encryptor, cause, since",
                  {"device", "cause", "limit"},
                  tftp_failures});
    registry.add({"itl.rollback",
                  Role::admin,
                  "publish the rollback ITL on every node (on: true), or the normal ITL again "
                  "(on: false); stored in the database, audited",
                  {"on"},
                  itl_rollback});
    registry.add({"ctl.publish",
                  Role::admin,
                  "build and publish CTLFile.tlv now; refused when no SAST of the published CTL "
                  "verifies it, unless allow_new_signer",
                  {"allow_new_signer"},
                  ctl_publish});
    registry.add({"ctl.show",
                  Role::read_only,
                  "the published CTLFile.tlv: records, signer, which SAST, signature check",
                  {},
                  ctl_show});
}

}  // namespace capf::admin
