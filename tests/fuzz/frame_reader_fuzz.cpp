// libFuzzer target for the frame reader and decoder. Besides sanitizer
// findings it checks two properties on every input:
//  1. a message decode_message() accepts re-encodes to the same bytes;
//  2. the FrameReader gives the same messages and the same error whether the
//     input arrives at once or in chunks whose sizes the input itself picks.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "protocol/decoder.hpp"

using namespace capf::protocol;

namespace {

[[noreturn]] void property_failed(const char* what) {
    std::fprintf(stderr, "property violated: %s\n", what);
    std::abort();
}

void touch_every_accessor(const Message& m) {
    (void)describe(m);
    (void)m.find<Tag::reason>();
    (void)m.find<Tag::reason_info>();
    (void)m.find<Tag::cert_type>();
    (void)m.find<Tag::certificate>();
    (void)m.find<Tag::cert_id>();
    (void)m.find<Tag::signed_data>();
    (void)m.find<Tag::version>();
    (void)m.find<Tag::auth_type>();
    (void)m.find<Tag::public_key>();
    (void)m.find<Tag::key_size>();
    (void)m.find<Tag::password>();
    (void)m.find<Tag::retry_delay>();
    (void)m.find<Tag::device_name>();
    (void)m.find<Tag::sudi_data>();
    (void)m.find<Tag::key_type>();
    (void)m.find<Tag::curve>();
    (void)m.find<Tag::digest_type>();
    (void)m.find<Tag::sha2_signed_data>();
}

struct Outcome {
    std::vector<Message> messages;
    std::optional<Errc> error;
};

Outcome read_stream(std::span<const std::uint8_t> data, std::span<const std::uint8_t> chunking) {
    FrameReader reader(DecodeLimits{4096});
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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> input(data, size);

    auto decoded = decode_message(input, DecodeLimits{absolute_max_message_size});
    if (auto* m = std::get_if<Message>(&decoded)) {
        touch_every_accessor(*m);
        const Bytes again = encode(*m);
        if (again.size() != size || !std::equal(again.begin(), again.end(), data)) {
            property_failed("decode/encode round trip changed the bytes");
        }
    } else {
        (void)std::get<Error>(decoded).message();
    }

    const Outcome whole = read_stream(input, {});
    const Outcome chunked = read_stream(input, input.first(std::min<std::size_t>(size, 16)));
    if (whole.error != chunked.error || whole.messages != chunked.messages) {
        property_failed("chunked reading disagrees with whole reading");
    }
    for (const auto& m : whole.messages) {
        touch_every_accessor(m);
    }
    return 0;
}
