#include "capf/common/atomic_file.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace atomic_file_test_cases {

namespace fs = std::filesystem;
using namespace capf;

namespace {

/// A fresh directory, removed with everything in it at the end of the test.
struct ScratchDirectory {
    fs::path path;
    ScratchDirectory() {
        std::string pattern = (fs::temp_directory_path() / "capf-tftp-XXXXXX").string();
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        path = pattern;
    }
    ~ScratchDirectory() {
        std::error_code ec;
        fs::permissions(path, fs::perms::owner_all, fs::perm_options::add, ec);
        fs::remove_all(path, ec);
    }
    std::vector<std::string> names() const {
        std::vector<std::string> out;
        for (const auto& e : fs::directory_iterator(path))
            out.push_back(e.path().filename().string());
        return out;
    }
};

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::vector<std::uint8_t> bytes(const std::string& s) {
    return {s.begin(), s.end()};
}

}  // namespace

TEST_CASE("write_file_atomically creates the file with the content and mode asked for") {
    ScratchDirectory dir;
    const fs::path target = dir.path / "SEP001122334455.cnf.xml.sgn";
    write_file_atomically(target, bytes("first"), 0640);
    CHECK(read_file(target) == "first");
    struct stat st {};
    REQUIRE(::stat(target.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0640);
    CHECK(dir.names() == std::vector<std::string>{"SEP001122334455.cnf.xml.sgn"});
}

TEST_CASE("write_file_atomically replaces the content by renaming a new file over the old") {
    ScratchDirectory dir;
    const fs::path target = dir.path / "ITLFile.tlv";
    write_file_atomically(target, bytes("old content, longer than the new"));
    struct stat before {};
    REQUIRE(::stat(target.c_str(), &before) == 0);
    // A reader holding the old file open keeps reading the old content whole:
    // the new one is a different inode, not an overwrite in place.
    std::ifstream reader(target, std::ios::binary);
    write_file_atomically(target, bytes("new"));
    struct stat after {};
    REQUIRE(::stat(target.c_str(), &after) == 0);
    CHECK(before.st_ino != after.st_ino);
    CHECK(read_file(target) == "new");
    std::ostringstream old_text;
    old_text << reader.rdbuf();
    CHECK(old_text.str() == "old content, longer than the new");
    CHECK(dir.names() == std::vector<std::string>{"ITLFile.tlv"});
}

TEST_CASE("write_file_atomically writes empty and large contents whole") {
    ScratchDirectory dir;
    write_file_atomically(dir.path / "empty", {});
    CHECK(fs::file_size(dir.path / "empty") == 0);
    std::vector<std::uint8_t> big(3 * 1024 * 1024);
    for (std::size_t i = 0; i < big.size(); ++i)
        big[i] = static_cast<std::uint8_t>(i * 7);
    write_file_atomically(dir.path / "big", big);
    const std::string back = read_file(dir.path / "big");
    CHECK(std::vector<std::uint8_t>(back.begin(), back.end()) == big);
}

TEST_CASE(
    "an atomic write keeps the mode asked for under any umask, and an open reader the old file") {
    // capfctl metrics under the timer's UMask=0077: node_exporter must
    // still read the file, and a scrape in progress finishes on the old one.
    ScratchDirectory dir;
    const fs::path target = dir.path / "capfd.prom";
    const mode_t saved = ::umask(077);
    write_file_atomically(target, bytes("first 1\n"), 0644);
    ::umask(saved);
    struct stat before {};
    REQUIRE(::stat(target.c_str(), &before) == 0);
    CHECK((before.st_mode & 07777) == 0644);
    std::ifstream reader(target);
    write_file_atomically(target, bytes("second 2\n"), 0644);
    std::string old_line;
    std::getline(reader, old_line);
    CHECK(old_line == "first 1");
    CHECK(read_file(target) == "second 2\n");
    struct stat after {};
    REQUIRE(::stat(target.c_str(), &after) == 0);
    CHECK(after.st_ino != before.st_ino);
    CHECK(dir.names() == std::vector<std::string>{"capfd.prom"});
}

TEST_CASE("a failed atomic write names the path and the reason and leaves nothing behind") {
    if (::geteuid() == 0) {
        // root ignores directory permissions; use a directory that does not exist instead.
        ScratchDirectory dir;
        const fs::path target = dir.path / "missing" / "x.sgn";
        try {
            write_file_atomically(target, bytes("x"));
            FAIL("the write succeeded");
        } catch (const FileWriteError& e) {
            CHECK_THAT(e.what(), Catch::Contains(target.string()) &&
                                     Catch::Contains("No such file or directory"));
        }
        CHECK(dir.names().empty());
        return;
    }
    ScratchDirectory dir;
    const fs::path target = dir.path / "x.sgn";
    write_file_atomically(target, bytes("kept"));
    fs::permissions(dir.path, fs::perms::owner_read | fs::perms::owner_exec);
    try {
        write_file_atomically(target, bytes("lost"));
        FAIL("the write succeeded");
    } catch (const FileWriteError& e) {
        CHECK_THAT(e.what(),
                   Catch::Contains(target.string()) && Catch::Contains("Permission denied"));
    }
    fs::permissions(dir.path, fs::perms::owner_all);
    CHECK(read_file(target) == "kept");
    CHECK(dir.names() == std::vector<std::string>{"x.sgn"});
}

TEST_CASE("a write that fails after the temporary file exists removes it and keeps the target") {
    ScratchDirectory dir;
    // A directory in the target's place: everything succeeds until the rename.
    const fs::path target = dir.path / "SEP001122334455.cnf.xml.enc.sgn";
    fs::create_directory(target);
    fs::create_directory(target / "inside");  // a non-empty directory cannot be replaced
    CHECK_THROWS_WITH(write_file_atomically(target, bytes("x")),
                      Catch::Contains("rename") && Catch::Contains(target.string()));
    CHECK(dir.names() == std::vector<std::string>{"SEP001122334455.cnf.xml.enc.sgn"});
    CHECK(fs::is_directory(target / "inside"));
}

TEST_CASE("remove_file_durably removes a file and accepts one that is already gone") {
    ScratchDirectory dir;
    const fs::path target = dir.path / "SEP001122334455.cnf.xml.enc.sgn";
    write_file_atomically(target, bytes("x"));
    remove_file_durably(target);
    CHECK_FALSE(fs::exists(target));
    CHECK_NOTHROW(remove_file_durably(target));
    // Something that cannot be removed is an error naming it.
    fs::create_directory(target);
    fs::create_directory(target / "inside");
    CHECK_THROWS_WITH(remove_file_durably(target), Catch::Contains(target.string()));
}

TEST_CASE("a replacement refused just before the rename or unlink leaves the target as it was") {
    ScratchDirectory dir;
    const fs::path target = dir.path / "SEP001122334455.cnf.xml.enc.sgn";
    write_file_atomically(target, bytes("old facts"));
    bool asked = false;
    const BeforeReplace refuse = [&] {
        asked = true;
        throw std::runtime_error("lease lost");
    };
    CHECK_THROWS_WITH(write_file_atomically(target, bytes("late facts"), 0644, refuse),
                      "lease lost");
    CHECK(asked);
    CHECK(read_file(target) == "old facts");
    CHECK(dir.names() == std::vector<std::string>{"SEP001122334455.cnf.xml.enc.sgn"});
    CHECK_THROWS_WITH(remove_file_durably(target, refuse), "lease lost");
    CHECK(read_file(target) == "old facts");

    int allowed = 0;
    write_file_atomically(target, bytes("new facts"), 0644, [&] { ++allowed; });
    CHECK(read_file(target) == "new facts");
    remove_file_durably(target, [&] { ++allowed; });
    CHECK_FALSE(fs::exists(target));
    CHECK(allowed == 2);
}

}  // namespace atomic_file_test_cases
