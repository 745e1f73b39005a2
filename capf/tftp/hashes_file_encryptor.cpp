#include "capf/tftp/hashes_file_encryptor.hpp"

#include <botan/pem.h>

#include <nlohmann/json.hpp>

#include "capf/common/atomic_file.hpp"

namespace capf::tftp {
namespace {

bool has_certificate(const DeviceFacts& d) {
    return !d.md5_hex.empty() || (d.public_key_der && !d.public_key_der->empty());
}

std::string public_key_pem(const DeviceFacts& d) {
    if (!d.public_key_der || d.public_key_der->empty())
        return {};
    return Botan::PEM_Code::encode(d.public_key_der->data(), d.public_key_der->size(),
                                   "PUBLIC KEY");
}

/// RFC 4180: a field holding a comma, a quote or a line break is quoted,
/// its quotes doubled (the PEM always is: it spans lines).
std::string csv_field(const std::string& value) {
    if (value.find_first_of(",\"\r\n") == std::string::npos)
        return value;
    std::string out = "\"";
    for (const char c : value) {
        if (c == '"')
            out += '"';
        out += c;
    }
    return out + "\"";
}

std::string render_csv(const std::vector<DeviceFacts>& devices) {
    std::string out = "name,md5,key_spec,public_key_pem\r\n";
    for (const auto& d : devices) {
        if (!has_certificate(d))
            continue;
        out += csv_field(d.name) + "," + csv_field(d.md5_hex) + "," + csv_field(d.key_spec) + "," +
               csv_field(public_key_pem(d)) + "\r\n";
    }
    return out;
}

std::string render_json(const std::vector<DeviceFacts>& devices) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& d : devices) {
        if (!has_certificate(d))
            continue;
        out.push_back({{"name", d.name},
                       {"md5", d.md5_hex},
                       {"key_spec", d.key_spec},
                       {"public_key_pem", public_key_pem(d)}});
    }
    return out.dump(2) + "\n";
}

}  // namespace

std::string render_hashes(const std::vector<DeviceFacts>& devices,
                          HashesFileEncryptorConfig::Format format) {
    return format == HashesFileEncryptorConfig::Format::json ? render_json(devices)
                                                             : render_csv(devices);
}

HashesFileEncryptor::HashesFileEncryptor(HashesFileEncryptorConfig settings, DeviceFactsPages pages,
                                         std::size_t page_size)
    : settings_(std::move(settings)), pages_(std::move(pages)), page_size_(page_size) {
    if (!pages_)
        throw std::invalid_argument("hashes-file: no device page source");
    if (page_size_ == 0)
        throw std::invalid_argument("hashes-file: page size 0");
}

std::vector<DeviceFacts> HashesFileEncryptor::all_devices() const {
    std::vector<DeviceFacts> all;
    std::string after;
    for (;;) {
        std::vector<DeviceFacts> page = pages_(after, page_size_);
        if (page.size() > page_size_)
            throw EncryptorError("hashes-file: the device query returned more than a page");
        for (auto& d : page) {
            // A page source that does not advance would loop for ever.
            if (!after.empty() && d.name <= after)
                throw EncryptorError("hashes-file: the device query is not in name order at " +
                                     d.name);
            after = d.name;
            all.push_back(std::move(d));
        }
        if (page.size() < page_size_)
            return all;
    }
}

void HashesFileEncryptor::deliver(const DeviceFacts& /*facts*/, DeliveryChange /*change*/,
                                  const LeaseGuard& lease) {
    deliver_fleet(lease);
}

void HashesFileEncryptor::deliver_fleet(const LeaseGuard& lease) {
    const std::lock_guard lock(rewrite_);
    const std::string text = render_hashes(all_devices(), settings_.format);
    write_file_atomically(
        settings_.path, {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}, 0644,
        [&] {
            lease.require(std::chrono::milliseconds(0), "replacing " + settings_.path.string());
        });
}

}  // namespace capf::tftp
