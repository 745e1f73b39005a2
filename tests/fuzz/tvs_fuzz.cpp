// libFuzzer target for the TVS codec (protocol/tvs_message). Besides
// sanitizer findings it checks on every input:
//  1. a message decode_message() accepts encodes again, and those bytes
//     decode to the same message (the decoder accepts elements in any
//     order, the encoder writes one order, so the bytes may differ); when
//     the input was already in the encoder's order, the bytes are the same;
//  2. the FrameReader gives the same messages and the same error whether the
//     input arrives at once or in chunks whose sizes the input itself picks;
//  3. every proper prefix of an accepted message is "needs more bytes" to
//     the reader, never an error.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "protocol/tvs_message.hpp"

using namespace capf::protocol::tvs;
using capf::protocol::Bytes;
using capf::protocol::element_header_size;
using capf::protocol::NeedMoreBytes;

namespace {

[[noreturn]] void property_failed(const char* what) {
    std::fprintf(stderr, "property violated: %s\n", what);
    std::abort();
}

struct Outcome {
    std::vector<Message> messages;
    std::optional<Errc> error;
};

Outcome read_stream(std::span<const std::uint8_t> data, std::span<const std::uint8_t> chunking) {
    FrameReader reader(Limits{4096});
    Outcome out;
    std::size_t at = 0;
    std::size_t pick = 0;
    while (at < data.size() && !out.error) {
        std::size_t n = data.size() - at;
        if (!chunking.empty()) {
            n = std::min<std::size_t>(n, 1 + chunking[pick++ % chunking.size()] % 64);
        }
        reader.feed(data.subspan(at, n));
        at += n;
        for (;;) {
            auto r = reader.next();
            if (auto* m = std::get_if<Message>(&r)) {
                out.messages.push_back(std::move(*m));
            } else if (auto* e = std::get_if<Error>(&r)) {
                out.error = e->code;
                break;
            } else {
                break;
            }
        }
    }
    if (!out.error) {
        if (auto e = reader.end_of_stream()) {
            out.error = e->code;
        }
    }
    return out;
}

void check_round_trip(const Message& m, std::span<const std::uint8_t> input) {
    (void)describe(m);
    const Bytes again = encode(m);
    auto redecoded = decode_message(again, Limits{0xFFFF});
    if (!std::holds_alternative<Message>(redecoded) || std::get<Message>(redecoded) != m) {
        property_failed("an accepted message does not survive encode and decode");
    }
    if (encode(std::get<Message>(redecoded)) != again) {
        property_failed("encoding is not stable");
    }
    // The encoder writes the elements in ascending tag order, and a valid
    // answer's ROLES even when empty: input in that shape comes back
    // unchanged, any other only reordered (or with an empty ROLES added).
    std::vector<std::uint8_t> tags;
    for (std::size_t at = header_size; at < input.size();) {
        tags.push_back(input[at]);
        at += element_header_size + static_cast<std::size_t>(input[at + 1] << 8 | input[at + 2]);
    }
    const auto* answer = std::get_if<VerifyResponse>(&m);
    const bool roles_added = answer != nullptr && answer->valid() &&
                             std::find(tags.begin(), tags.end(), 8) == tags.end();
    const bool same_bytes =
        again.size() == input.size() && std::equal(again.begin(), again.end(), input.begin());
    if (std::is_sorted(tags.begin(), tags.end()) && !roles_added && !same_bytes) {
        property_failed("a message in the encoder's order re-encodes to other bytes");
    }
    if (again.size() != input.size() + (roles_added ? element_header_size : 0)) {
        property_failed("re-encoding changed the size beyond an added empty ROLES");
    }
}

/// Fed one byte at a time, the reader needs more until the last byte.
void check_prefixes(std::span<const std::uint8_t> wire) {
    FrameReader reader(Limits{0xFFFF});
    for (std::size_t n = 0; n + 1 < wire.size(); ++n) {
        reader.feed(wire.subspan(n, 1));
        if (!std::holds_alternative<NeedMoreBytes>(reader.next())) {
            property_failed("a prefix of an accepted message is not 'needs more bytes'");
        }
    }
    reader.feed(wire.last(1));
    if (!std::holds_alternative<Message>(reader.next())) {
        property_failed("the reader refuses, byte by byte, what decode_message accepts");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> input(data, size);

    auto decoded = decode_message(input, Limits{0xFFFF});
    if (auto* m = std::get_if<Message>(&decoded)) {
        check_round_trip(*m, input);
        check_prefixes(input);
    } else {
        (void)std::get<Error>(decoded).message();
    }

    const Outcome whole = read_stream(input, {});
    const Outcome chunked = read_stream(input, input.first(std::min<std::size_t>(size, 16)));
    if (whole.error != chunked.error || whole.messages != chunked.messages) {
        property_failed("chunked reading disagrees with whole reading");
    }
    for (const auto& m : whole.messages) {
        (void)describe(m);
    }
    return 0;
}
