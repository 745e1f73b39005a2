// `hashes-file`: an export of every device's name, certificate MD5, key spec
// and public key (PEM), for a provisioning system that writes its own
// partial configurations. Rewritten whole and atomically once per claimed
// batch of changed devices (issue 32: once per device was quadratic).
#pragma once

#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "capf/common/config.hpp"
#include "capf/tftp/encryptor.hpp"

namespace capf::tftp {

/// Devices whose name sorts after `after` (all when empty), in name order,
/// at most `limit` of them: the repository's paged query. May throw.
using DeviceFactsPages =
    std::function<std::vector<DeviceFacts>(const std::string& after, std::size_t limit)>;

class HashesFileEncryptor : public Encryptor {
  public:
    /// `pages` is called on every deliver() and must outlive this object.
    HashesFileEncryptor(HashesFileEncryptorConfig settings, DeviceFactsPages pages,
                        std::size_t page_size = 500);

    std::string_view name() const override { return "hashes-file"; }
    /// Fleet scope: one rewrite serves a whole batch of changed devices.
    EncryptorScope scope() const override { return EncryptorScope::fleet; }
    /// Rewrites the whole export from the current facts of every device;
    /// `facts` and `change` only trigger it (level-triggered). The export is
    /// replaced only when `lease` allows it.
    void deliver(const DeviceFacts& facts, DeliveryChange change, const LeaseGuard& lease) override;
    /// The same rewrite.
    void deliver_fleet(const LeaseGuard& lease) override;

  private:
    std::vector<DeviceFacts> all_devices() const;

    HashesFileEncryptorConfig settings_;
    DeviceFactsPages pages_;
    std::size_t page_size_;
    /// One rewrite at a time: the rewrite that renames last also read last,
    /// so the export never goes back to an older state within this process.
    std::mutex rewrite_;
};

/// The export's bytes: CSV (RFC 4180, CRLF, header
/// `name,md5,key_spec,public_key_pem`) or a JSON array of objects with those
/// keys. Devices with neither an MD5 nor a public key on record (no
/// certificate) have no row.
std::string render_hashes(const std::vector<DeviceFacts>& devices,
                          HashesFileEncryptorConfig::Format format);

}  // namespace capf::tftp
