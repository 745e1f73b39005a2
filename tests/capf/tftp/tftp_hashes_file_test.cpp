#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "capf/ctl/csv.hpp"
#include "capf/tftp/hashes_file_encryptor.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace tftp_hashes_file_test_cases {

namespace fs = std::filesystem;
using namespace capf;
using namespace capf::tftp;
using Format = HashesFileEncryptorConfig::Format;

namespace {

struct ScratchDirectory {
    fs::path path;
    ScratchDirectory() {
        std::string pattern = (fs::temp_directory_path() / "capf-hashes-XXXXXX").string();
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        path = pattern;
    }
    ~ScratchDirectory() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

DeviceFacts device(const std::string& name, const std::string& md5 = "",
                   std::optional<capf::storage::Bytes> key = std::nullopt,
                   const std::string& spec = "rsa-2048") {
    DeviceFacts d;
    d.name = name;
    d.md5_hex = md5;
    d.public_key_der = std::move(key);
    d.key_spec = spec;
    return d;
}

/// A fake repository: devices in name order, served in pages; counts calls.
struct FakePages {
    std::map<std::string, DeviceFacts> devices;
    int calls = 0;
    std::vector<DeviceFacts> operator()(const std::string& after, std::size_t limit) {
        ++calls;
        std::vector<DeviceFacts> out;
        for (auto it = devices.upper_bound(after); it != devices.end() && out.size() < limit; ++it)
            out.push_back(it->second);
        return out;
    }
};

}  // namespace

TEST_CASE("render_hashes writes RFC 4180 CSV with the documented header") {
    const capf::storage::Bytes key = {0x30, 0x03, 0x02, 0x01, 0x05};
    const std::string csv = render_hashes(
        {device("SEP000000000001", "0123456789abcdef0123456789abcdef", key, "rsa-1024"),
         device("SEP000000000002"),  // no certificate on record: no row
         device("odd,\"name\"", "ff", std::nullopt, "ec-p256")},
        Format::csv);
    std::istringstream in(csv);
    const auto rows = read_csv(in);
    REQUIRE(rows.size() == 3);
    CHECK(rows[0] == std::vector<std::string>{"name", "md5", "key_spec", "public_key_pem"});
    CHECK(rows[1][0] == "SEP000000000001");
    CHECK(rows[1][1] == "0123456789abcdef0123456789abcdef");
    CHECK(rows[1][2] == "rsa-1024");
    CHECK_THAT(rows[1][3], Catch::StartsWith("-----BEGIN PUBLIC KEY-----\n") &&
                               Catch::Contains("MAMCAQU=") &&
                               Catch::Contains("-----END PUBLIC KEY-----"));
    CHECK(rows[2] == std::vector<std::string>{"odd,\"name\"", "ff", "ec-p256", ""});
    CHECK_THAT(csv, Catch::StartsWith("name,md5,key_spec,public_key_pem\r\n") &&
                        Catch::Contains("\"odd,\"\"name\"\"\""));
}

TEST_CASE("render_hashes writes a JSON array of objects with the same keys") {
    const auto doc = nlohmann::json::parse(
        render_hashes({device("SEP000000000001", "aa", capf::storage::Bytes{0x30, 0x00}),
                       device("SEP000000000002")},
                      Format::json));
    REQUIRE(doc.is_array());
    REQUIRE(doc.size() == 1);
    CHECK(doc[0]["name"] == "SEP000000000001");
    CHECK(doc[0]["md5"] == "aa");
    CHECK(doc[0]["key_spec"] == "rsa-2048");
    CHECK_THAT(doc[0]["public_key_pem"].get<std::string>(),
               Catch::Contains("BEGIN PUBLIC KEY") && Catch::Contains("MAA="));
    CHECK(doc[0].size() == 4);
    CHECK(nlohmann::json::parse(render_hashes({}, Format::json)) == nlohmann::json::array());
}

TEST_CASE("hashes-file rewrites the whole export from every page on each delivery") {
    ScratchDirectory dir;
    FakePages pages;
    for (int i = 0; i < 7; ++i) {
        const std::string name = "SEP00000000000" + std::to_string(i);
        pages.devices[name] =
            device(name, "md5-" + std::to_string(i), capf::storage::Bytes{0x30, 0x00});
    }
    const fs::path target = dir.path / "hashes.csv";
    HashesFileEncryptor hashes({target, Format::csv}, std::ref(pages), 3);
    CHECK(hashes.name() == "hashes-file");

    hashes.deliver(pages.devices.begin()->second, DeliveryChange::installed,
                   LeaseGuard::unlimited());
    CHECK(pages.calls == 3);  // pages of 3, 3 and 1
    std::istringstream first(read_file(target));
    auto rows = read_csv(first);
    REQUIRE(rows.size() == 8);
    CHECK(rows[1][0] == "SEP000000000000");
    CHECK(rows[7][0] == "SEP000000000006");

    // A deleted certificate disappears from the export; a new one appears.
    pages.devices["SEP000000000003"].md5_hex.clear();
    pages.devices["SEP000000000003"].public_key_der.reset();
    pages.devices["SEP000000000009"] = device("SEP000000000009", "md5-9");
    hashes.deliver(pages.devices["SEP000000000003"], DeliveryChange::deleted,
                   LeaseGuard::unlimited());
    std::istringstream second(read_file(target));
    rows = read_csv(second);
    REQUIRE(rows.size() == 8);
    for (const auto& row : rows)
        CHECK(row[0] != "SEP000000000003");
    CHECK(rows.back()[0] == "SEP000000000009");
    CHECK(rows.back()[1] == "md5-9");
    // Only the export itself is in the directory: the temporary files are gone.
    CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator{}) == 1);
}

TEST_CASE("an exact multiple of the page size ends on an empty page") {
    ScratchDirectory dir;
    FakePages pages;
    for (const char* name : {"SEP0A", "SEP0B", "SEP0C", "SEP0D"})
        pages.devices[name] = device(name, "m");
    HashesFileEncryptor hashes({dir.path / "h.json", Format::json}, std::ref(pages), 2);
    hashes.deliver(pages.devices["SEP0A"], DeliveryChange::fetched, LeaseGuard::unlimited());
    CHECK(pages.calls == 3);
    CHECK(nlohmann::json::parse(read_file(dir.path / "h.json")).size() == 4);
}

TEST_CASE("a failing page source fails the delivery and keeps the previous export") {
    ScratchDirectory dir;
    FakePages pages;
    pages.devices["SEP0A"] = device("SEP0A", "m");
    bool fail = false;
    HashesFileEncryptor hashes(
        {dir.path / "h.csv", Format::csv},
        [&](const std::string& after, std::size_t limit) {
            if (fail)
                throw std::runtime_error("database down");
            return pages(after, limit);
        },
        10);
    hashes.deliver(pages.devices["SEP0A"], DeliveryChange::installed, LeaseGuard::unlimited());
    const std::string before = read_file(dir.path / "h.csv");
    fail = true;
    CHECK_THROWS_WITH(
        hashes.deliver(pages.devices["SEP0A"], DeliveryChange::installed, LeaseGuard::unlimited()),
        "database down");
    CHECK(read_file(dir.path / "h.csv") == before);
}

TEST_CASE("a page source that does not advance is an error, not an endless loop") {
    ScratchDirectory dir;
    HashesFileEncryptor hashes(
        {dir.path / "h.csv", Format::csv},
        [](const std::string&, std::size_t) {
            return std::vector<DeviceFacts>{device("SEP0A", "m"), device("SEP0B", "m")};
        },
        2);
    CHECK_THROWS_AS(
        hashes.deliver(device("SEP0A"), DeliveryChange::installed, LeaseGuard::unlimited()),
        EncryptorError);
    CHECK_FALSE(fs::exists(dir.path / "h.csv"));
}

TEST_CASE("an export that cannot be written is an error naming the path") {
    FakePages pages;
    const fs::path target = "/nonexistent-capf-dir/hashes.csv";
    HashesFileEncryptor hashes({target, Format::csv}, std::ref(pages));
    CHECK_THROWS_WITH(
        hashes.deliver(device("SEP0A"), DeliveryChange::installed, LeaseGuard::unlimited()),
        Catch::Contains(target.string()));
}

}  // namespace tftp_hashes_file_test_cases
