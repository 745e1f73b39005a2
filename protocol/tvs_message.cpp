#include "protocol/tvs_message.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

namespace capf::protocol::tvs {
namespace {

Error make_error(Errc code, std::size_t offset, std::string detail) {
    Error e;
    e.code = code;
    e.offset = offset;
    e.detail = std::move(detail);
    return e;
}

[[noreturn]] void throw_encode(Errc code, Command command, std::optional<Tag> tag,
                               std::string detail) {
    Error e = make_error(code, 0, std::move(detail));
    e.command = static_cast<std::uint8_t>(command);
    if (tag) {
        e.tag = static_cast<std::uint8_t>(*tag);
    }
    throw TvsError(std::move(e));
}

std::size_t effective_max_body(const Limits& limits) {
    return std::min<std::size_t>(limits.max_body_size, 0xFFFF);
}

bool printable_ascii(std::span<const std::uint8_t> text) {
    return std::all_of(text.begin(), text.end(),
                       [](std::uint8_t c) { return c >= 0x20 && c <= 0x7E; });
}

std::uint32_t read_u32(std::span<const std::uint8_t> b) {
    return static_cast<std::uint32_t>(b[0]) << 24 | static_cast<std::uint32_t>(b[1]) << 16 |
           static_cast<std::uint32_t>(b[2]) << 8 | static_cast<std::uint32_t>(b[3]);
}

void put_u16(Bytes& out, std::size_t v) {
    out.push_back(static_cast<std::uint8_t>(v >> 8 & 0xFF));
    out.push_back(static_cast<std::uint8_t>(v & 0xFF));
}

void put_u32(Bytes& out, std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) {
        out.push_back(static_cast<std::uint8_t>(v >> shift & 0xFF));
    }
}

/// Builds a frame: the header is written once the body's size is known.
class FrameWriter {
  public:
    FrameWriter(Command command, std::uint32_t session_id) : command_(command) {
        out_.reserve(256);
        out_.push_back(protocol_id);
        out_.push_back(protocol_version);
        out_.push_back(static_cast<std::uint8_t>(command));
        out_.push_back(0);  // reserved
        put_u32(out_, session_id);
        put_u16(out_, 0);  // body length, patched in finish()
    }

    void element(Tag tag, std::span<const std::uint8_t> prefix,
                 std::span<const std::uint8_t> value) {
        const std::size_t length = prefix.size() + value.size();
        if (length > max_element_value_size) {
            throw_encode(Errc::value_too_large, command_, tag,
                         tag_name(static_cast<std::uint8_t>(tag)) + " of " +
                             std::to_string(length) + " bytes does not fit a 16-bit length");
        }
        out_.push_back(static_cast<std::uint8_t>(tag));
        put_u16(out_, length);
        out_.insert(out_.end(), prefix.begin(), prefix.end());
        out_.insert(out_.end(), value.begin(), value.end());
    }

    Bytes finish() {
        const std::size_t body = out_.size() - header_size;
        if (body > 0xFFFF) {
            throw_encode(Errc::value_too_large, command_, std::nullopt,
                         "body of " + std::to_string(body) + " bytes exceeds 65535");
        }
        out_[8] = static_cast<std::uint8_t>(body >> 8);
        out_[9] = static_cast<std::uint8_t>(body & 0xFF);
        return std::move(out_);
    }

  private:
    Command command_;
    Bytes out_;
};

/// Where the elements of one body were, by tag byte (0 = absent; offsets
/// are from the start of the message, so never 0 for an element).
struct Seen {
    std::array<std::size_t, 256> at{};
    bool has(Tag t) const noexcept { return at[static_cast<std::uint8_t>(t)] != 0; }
    std::size_t where(Tag t) const noexcept { return at[static_cast<std::uint8_t>(t)]; }
};

bool carried_by(Command command, std::uint8_t tag) {
    if (command == Command::verify_request) {
        return tag == static_cast<std::uint8_t>(Tag::device_name) ||
               tag == static_cast<std::uint8_t>(Tag::certificate);
    }
    return tag == static_cast<std::uint8_t>(Tag::status) ||
           tag == static_cast<std::uint8_t>(Tag::roles) ||
           tag == static_cast<std::uint8_t>(Tag::ttl);
}

/// Checks one element's value and stores it in `message`. `at` is the
/// offset of the value from the start of the message.
std::optional<Error> take_element(Tag tag, std::span<const std::uint8_t> value, std::size_t at,
                                  const Limits& limits, Message& message) {
    switch (tag) {
        case Tag::device_name: {
            if (value.empty() || value[0] != device_name_prefix) {
                return make_error(Errc::bad_device_name, at,
                                  "value must start with the prefix byte 0x01");
            }
            const auto name = value.subspan(1);
            if (name.empty()) {
                return make_error(Errc::bad_device_name, at + 1, "empty name");
            }
            if (name.size() > limits.max_device_name_size) {
                return make_error(Errc::device_name_too_long, at + 1,
                                  std::to_string(name.size()) + " bytes, the limit is " +
                                      std::to_string(limits.max_device_name_size));
            }
            if (!printable_ascii(name)) {
                return make_error(Errc::bad_device_name, at + 1,
                                  "name holds a byte that is not printable ASCII");
            }
            std::get<VerifyRequest>(message).device_name.assign(name.begin(), name.end());
            return std::nullopt;
        }
        case Tag::certificate:
            if (value.empty()) {
                return make_error(Errc::empty_certificate, at, "no DER bytes");
            }
            std::get<VerifyRequest>(message).certificate.assign(value.begin(), value.end());
            return std::nullopt;
        case Tag::status:
            if (value.size() != 1) {
                return make_error(Errc::wrong_element_length, at,
                                  std::to_string(value.size()) + " bytes, must be 1");
            }
            if (value[0] > 1) {
                return make_error(Errc::invalid_status, at,
                                  "status " + std::to_string(value[0]) + ", must be 0 or 1");
            }
            std::get<VerifyResponse>(message).status = static_cast<Status>(value[0]);
            return std::nullopt;
        case Tag::roles:
            std::get<VerifyResponse>(message).roles.assign(value.begin(), value.end());
            return std::nullopt;
        case Tag::ttl:
            if (value.size() != 4) {
                return make_error(Errc::wrong_element_length, at,
                                  std::to_string(value.size()) + " bytes, must be 4");
            }
            std::get<VerifyResponse>(message).ttl_seconds = read_u32(value);
            return std::nullopt;
    }
    return std::nullopt;
}

std::optional<Error> check_complete(const FrameHeader& header, const Seen& seen,
                                    const Message& message) {
    auto missing = [&](Tag t) {
        Error e = make_error(Errc::missing_element, header_size,
                             command_name(static_cast<std::uint8_t>(header.command)) + " has no " +
                                 tag_name(static_cast<std::uint8_t>(t)) + " element");
        e.tag = static_cast<std::uint8_t>(t);
        return e;
    };
    if (header.command == Command::verify_request) {
        if (!seen.has(Tag::device_name)) {
            return missing(Tag::device_name);
        }
        if (!seen.has(Tag::certificate)) {
            return missing(Tag::certificate);
        }
        return std::nullopt;
    }
    if (!seen.has(Tag::status)) {
        return missing(Tag::status);
    }
    if (!std::get<VerifyResponse>(message).valid()) {
        for (Tag t : {Tag::roles, Tag::ttl}) {
            if (seen.has(t)) {
                Error e = make_error(Errc::element_not_allowed, seen.where(t),
                                     "an invalid answer is STATUS alone");
                e.tag = static_cast<std::uint8_t>(t);
                return e;
            }
        }
    }
    return std::nullopt;
}

}  // namespace

std::string command_name(std::uint8_t command) {
    switch (command) {
        case 1:
            return "VERIFY_REQUEST";
        case 2:
            return "VERIFY_RESPONSE";
        case 3:
            return "QUERY_REQUEST";
        case 4:
            return "QUERY_RESPONSE";
        default:
            return "command " + std::to_string(command);
    }
}

std::string tag_name(std::uint8_t tag) {
    switch (tag) {
        case 1:
            return "DEVICE_NAME";
        case 2:
            return "CERTIFICATE";
        case 7:
            return "STATUS";
        case 8:
            return "ROLES";
        case 9:
            return "TTL";
        default:
            return "tag " + std::to_string(tag);
    }
}

std::string_view errc_name(Errc code) noexcept {
    switch (code) {
        case Errc::wrong_protocol_id:
            return "wrong_protocol_id";
        case Errc::wrong_version:
            return "wrong_version";
        case Errc::unknown_command:
            return "unknown_command";
        case Errc::unsupported_command:
            return "unsupported_command";
        case Errc::unexpected_command:
            return "unexpected_command";
        case Errc::reserved_not_zero:
            return "reserved_not_zero";
        case Errc::body_too_large:
            return "body_too_large";
        case Errc::length_overrun:
            return "length_overrun";
        case Errc::trailing_bytes:
            return "trailing_bytes";
        case Errc::element_overrun:
            return "element_overrun";
        case Errc::unknown_tag:
            return "unknown_tag";
        case Errc::duplicate_element:
            return "duplicate_element";
        case Errc::missing_element:
            return "missing_element";
        case Errc::wrong_element_length:
            return "wrong_element_length";
        case Errc::bad_device_name:
            return "bad_device_name";
        case Errc::device_name_too_long:
            return "device_name_too_long";
        case Errc::empty_certificate:
            return "empty_certificate";
        case Errc::invalid_status:
            return "invalid_status";
        case Errc::element_not_allowed:
            return "element_not_allowed";
        case Errc::value_too_large:
            return "value_too_large";
    }
    return "unknown_error";
}

std::string Error::message() const {
    std::string out(errc_name(code));
    if (command) {
        out += " in " + command_name(*command);
    }
    out += " at offset " + std::to_string(offset);
    if (tag) {
        out += " (" + tag_name(*tag) + ")";
    }
    if (!detail.empty()) {
        out += ": " + detail;
    }
    return out;
}

TvsError::TvsError(Error error) : std::runtime_error(error.message()), error_(std::move(error)) {}

Bytes encode(const VerifyRequest& request) {
    const auto& name = request.device_name;
    const std::span<const std::uint8_t> name_bytes(
        reinterpret_cast<const std::uint8_t*>(name.data()), name.size());
    if (name.empty() || !printable_ascii(name_bytes)) {
        throw_encode(Errc::bad_device_name, Command::verify_request, Tag::device_name,
                     "the name must be non-empty printable ASCII");
    }
    if (request.certificate.empty()) {
        throw_encode(Errc::empty_certificate, Command::verify_request, Tag::certificate,
                     "no DER bytes");
    }
    FrameWriter w(Command::verify_request, request.session_id);
    const std::uint8_t prefix[] = {device_name_prefix};
    w.element(Tag::device_name, prefix, name_bytes);
    w.element(Tag::certificate, {}, request.certificate);
    return w.finish();
}

Bytes encode(const VerifyResponse& response) {
    FrameWriter w(Command::verify_response, response.session_id);
    const std::uint8_t status[] = {static_cast<std::uint8_t>(response.status)};
    w.element(Tag::status, {}, status);
    if (!response.valid()) {
        if (!response.roles.empty() || response.ttl_seconds) {
            throw_encode(Errc::element_not_allowed, Command::verify_response, std::nullopt,
                         "an invalid answer carries neither roles nor a TTL");
        }
        return w.finish();
    }
    w.element(Tag::roles, {}, response.roles);
    if (response.ttl_seconds) {
        Bytes ttl;
        put_u32(ttl, *response.ttl_seconds);
        w.element(Tag::ttl, {}, ttl);
    }
    return w.finish();
}

Bytes encode(const Message& message) {
    return std::visit([](const auto& m) { return encode(m); }, message);
}

std::variant<NeedMoreBytes, FrameHeader, Error> decode_header(std::span<const std::uint8_t> bytes,
                                                              const Limits& limits) {
    if (bytes.empty()) {
        return NeedMoreBytes{};
    }
    if (bytes[0] != protocol_id) {
        return make_error(Errc::wrong_protocol_id, 0,
                          "protocol id " + std::to_string(bytes[0]) + ", must be 87 (0x57)");
    }
    if (bytes.size() < 2) {
        return NeedMoreBytes{};
    }
    if (bytes[1] != protocol_version) {
        return make_error(Errc::wrong_version, 1,
                          "version " + std::to_string(bytes[1]) + ", must be 1");
    }
    if (bytes.size() < 3) {
        return NeedMoreBytes{};
    }
    const std::uint8_t command = bytes[2];
    if (command == 3 || command == 4) {
        Error e = make_error(Errc::unsupported_command, 2, "named but never used; not served");
        e.command = command;
        return e;
    }
    if (command != 1 && command != 2) {
        Error e = make_error(Errc::unknown_command, 2,
                             "command " + std::to_string(command) + " is not in 1..4");
        e.command = command;
        return e;
    }
    FrameHeader header;
    header.command = static_cast<Command>(command);
    auto fail = [&](Error e) {
        e.command = command;
        return e;
    };
    if (bytes.size() < 4) {
        return NeedMoreBytes{};
    }
    if (bytes[3] != 0) {
        return fail(make_error(Errc::reserved_not_zero, 3,
                               "reserved byte " + std::to_string(bytes[3]) + ", must be 0"));
    }
    if (bytes.size() < header_size) {
        return NeedMoreBytes{};
    }
    header.session_id = read_u32(bytes.subspan(4, 4));
    header.body_length = static_cast<std::uint16_t>(bytes[8] << 8 | bytes[9]);
    if (header.body_length > effective_max_body(limits)) {
        return fail(make_error(Errc::body_too_large, 8,
                               "body of " + std::to_string(header.body_length) +
                                   " bytes exceeds the limit of " +
                                   std::to_string(effective_max_body(limits))));
    }
    return header;
}

std::variant<Message, Error> decode_body(const FrameHeader& header,
                                         std::span<const std::uint8_t> body, const Limits& limits) {
    Message message = header.command == Command::verify_request
                          ? Message(VerifyRequest{header.session_id, {}, {}})
                          : Message(VerifyResponse{header.session_id, Status::invalid, {}, {}});
    Seen seen;
    auto fail = [&](Error e, std::optional<std::uint8_t> tag = std::nullopt) {
        e.command = static_cast<std::uint8_t>(header.command);
        if (tag) {
            e.tag = tag;
        }
        return e;
    };
    std::size_t at = 0;
    while (at < body.size()) {
        const std::size_t here = header_size + at;
        const std::size_t remaining = body.size() - at;
        if (remaining < element_header_size) {
            return fail(make_error(Errc::element_overrun, here,
                                   "element header needs 3 bytes, " + std::to_string(remaining) +
                                       " remain in the body"));
        }
        const std::uint8_t tag = body[at];
        const std::size_t length = static_cast<std::size_t>(body[at + 1] << 8 | body[at + 2]);
        const bool known = carried_by(header.command, tag);
        if (!known && !limits.skip_unknown_tags) {
            return fail(make_error(Errc::unknown_tag, here,
                                   tag_name(tag) + " is not an element of " +
                                       command_name(static_cast<std::uint8_t>(header.command))),
                        tag);
        }
        if (remaining - element_header_size < length) {
            return fail(make_error(Errc::element_overrun, here,
                                   "claims " + std::to_string(length) + " bytes, " +
                                       std::to_string(remaining - element_header_size) + " remain"),
                        tag);
        }
        at += element_header_size + length;
        if (!known) {
            continue;  // Limits::skip_unknown_tags
        }
        if (seen.at[tag] != 0) {
            return fail(make_error(Errc::duplicate_element, here,
                                   "already at offset " + std::to_string(seen.at[tag])),
                        tag);
        }
        seen.at[tag] = here;
        const std::size_t value_at = here + element_header_size;
        if (auto err =
                take_element(static_cast<Tag>(tag), body.subspan(value_at - header_size, length),
                             value_at, limits, message)) {
            return fail(std::move(*err), tag);
        }
    }
    if (auto err = check_complete(header, seen, message)) {
        return fail(std::move(*err));
    }
    return message;
}

std::variant<Message, Error> decode_message(std::span<const std::uint8_t> bytes,
                                            const Limits& limits) {
    auto head = decode_header(bytes, limits);
    if (auto* err = std::get_if<Error>(&head)) {
        return std::move(*err);
    }
    if (std::holds_alternative<NeedMoreBytes>(head)) {
        return make_error(
            Errc::length_overrun, bytes.size(),
            "buffer of " + std::to_string(bytes.size()) + " bytes ends inside the 10-byte header");
    }
    const auto& header = std::get<FrameHeader>(head);
    const std::size_t total = header_size + header.body_length;
    if (bytes.size() != total) {
        const bool short_buffer = bytes.size() < total;
        Error e =
            short_buffer
                ? make_error(Errc::length_overrun, bytes.size(),
                             "body length " + std::to_string(header.body_length) + " but only " +
                                 std::to_string(bytes.size() - header_size) + " bytes follow")
                : make_error(Errc::trailing_bytes, total,
                             std::to_string(bytes.size() - total) + " bytes after the message");
        e.command = static_cast<std::uint8_t>(header.command);
        return e;
    }
    return decode_body(header, bytes.subspan(header_size), limits);
}

namespace {

template <typename Wanted>
std::variant<Wanted, Error> decode_one(std::span<const std::uint8_t> bytes, const Limits& limits) {
    auto decoded = decode_message(bytes, limits);
    if (auto* err = std::get_if<Error>(&decoded)) {
        return std::move(*err);
    }
    auto& message = std::get<Message>(decoded);
    if (auto* wanted = std::get_if<Wanted>(&message)) {
        return std::move(*wanted);
    }
    Error e = make_error(Errc::unexpected_command, 2, "a message of the other direction");
    e.command = bytes[2];
    return e;
}

}  // namespace

std::variant<VerifyRequest, Error> decode_request(std::span<const std::uint8_t> bytes,
                                                  const Limits& limits) {
    return decode_one<VerifyRequest>(bytes, limits);
}

std::variant<VerifyResponse, Error> decode_response(std::span<const std::uint8_t> bytes,
                                                    const Limits& limits) {
    return decode_one<VerifyResponse>(bytes, limits);
}

FrameReader::FrameReader(Limits limits, std::optional<Command> accept_only)
    : limits_(limits), accept_only_(accept_only) {}

void FrameReader::feed(std::span<const std::uint8_t> bytes) {
    if (failure_) {
        return;  // nothing after an error can be trusted, so don't hold it
    }
    buffer_.append(bytes);
}

ReadResult FrameReader::next() {
    if (failure_) {
        return *failure_;
    }
    const auto pending = buffer_.pending();
    auto head = decode_header(pending, limits_);
    if (auto* err = std::get_if<Error>(&head)) {
        failure_ = std::move(*err);
        return *failure_;
    }
    if (std::holds_alternative<NeedMoreBytes>(head)) {
        return NeedMoreBytes{};
    }
    const auto& header = std::get<FrameHeader>(head);
    if (accept_only_ && header.command != *accept_only_) {
        // Refused on the header: no need to buffer a body we will not read.
        Error e = make_error(
            Errc::unexpected_command, 2,
            "this end reads " + command_name(static_cast<std::uint8_t>(*accept_only_)) + " only");
        e.command = static_cast<std::uint8_t>(header.command);
        failure_ = std::move(e);
        return *failure_;
    }
    const std::size_t total = header_size + header.body_length;
    if (pending.size() < total) {
        return NeedMoreBytes{};
    }
    auto decoded = decode_body(header, pending.subspan(header_size, header.body_length), limits_);
    if (auto* err = std::get_if<Error>(&decoded)) {
        failure_ = std::move(*err);
        return *failure_;
    }
    buffer_.consume(total);
    return std::move(std::get<Message>(decoded));
}

std::optional<Error> FrameReader::end_of_stream() const {
    if (failure_) {
        return failure_;
    }
    if (buffered() == 0) {
        return std::nullopt;
    }
    Error e = make_error(
        Errc::length_overrun, buffered(),
        "stream ended " + std::to_string(buffered()) + " bytes into an incomplete message");
    if (buffered() >= 3) {
        e.command = buffer_.pending()[2];
    }
    return e;
}

namespace {

std::string hex32(std::uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%08x", v);
    return buf;
}

std::string join_roles(const std::vector<std::uint8_t>& roles) {
    std::string out;
    for (std::size_t i = 0; i < roles.size(); ++i) {
        out += (i == 0 ? "" : ",") + std::to_string(roles[i]);
    }
    return out;
}

}  // namespace

std::string describe(const Message& message) {
    if (const auto* r = std::get_if<VerifyRequest>(&message)) {
        return "VERIFY_REQUEST session=" + hex32(r->session_id) + " device=\"" + r->device_name +
               "\" certificate=<" + std::to_string(r->certificate.size()) + " bytes>";
    }
    const auto& a = std::get<VerifyResponse>(message);
    std::string out = "VERIFY_RESPONSE session=" + hex32(a.session_id);
    if (!a.valid()) {
        return out + " invalid";
    }
    out += " valid roles=" + join_roles(a.roles);
    out += " ttl=" + (a.ttl_seconds ? std::to_string(*a.ttl_seconds) : std::string("none"));
    return out;
}

}  // namespace capf::protocol::tvs
