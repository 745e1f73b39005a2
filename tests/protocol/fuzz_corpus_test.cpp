// The committed fuzz seeds are valid and cover every command.
#include <catch2/catch.hpp>
#include <filesystem>
#include <set>

#include "protocol/decoder.hpp"
#include "tests/protocol/read_file.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace fuzz_corpus_test_cases {

using namespace capf::protocol;

TEST_CASE("the fuzz seed corpus has one valid seed per command") {
    std::set<Command> covered;
    std::size_t streams = 0;
    for (const auto& entry : std::filesystem::directory_iterator(CAPF_FUZZ_CORPUS_DIR)) {
        const std::string name = entry.path().filename().string();
        INFO("seed " << name);
        const Bytes bytes = capf::test::read_file(entry.path().string());
        if (name.rfind("stream-", 0) == 0) {
            FrameReader reader;
            reader.feed(bytes);
            int messages = 0;
            while (std::holds_alternative<Message>(reader.next())) {
                ++messages;
            }
            CHECK(messages >= 2);
            CHECK_FALSE(reader.end_of_stream().has_value());
            ++streams;
            continue;
        }
        auto decoded = decode_message(bytes);
        REQUIRE(std::holds_alternative<Message>(decoded));
        covered.insert(std::get<Message>(decoded).command());
    }
    CHECK(covered.size() == all_commands.size());
    CHECK(streams >= 1);
}

}  // namespace fuzz_corpus_test_cases
