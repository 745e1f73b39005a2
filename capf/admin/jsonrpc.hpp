// JSON-RPC 2.0 over lines: the admin socket's message layer, free of I/O.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace capf::jsonrpc {

using json = nlohmann::json;

/// JSON-RPC 2.0 error codes (the spec's, then ours from its server range).
enum class ErrorCode : int {
    parse_error = -32700,
    invalid_request = -32600,
    method_not_found = -32601,
    invalid_params = -32602,
    internal_error = -32603,
    permission_denied = -32001,  ///< the peer, or its role for this method, is not allowed
    request_too_large = -32002,
    unavailable = -32003,  ///< a dependency (the database) cannot be reached
    not_found = -32004,    ///< the request names something that does not exist
    conflict = -32005,     ///< the request contradicts the current state
};

/// Thrown by a method to answer with an error. The message must say what was
/// wrong and what is allowed; nothing may have been changed.
class Error : public std::runtime_error {
  public:
    Error(ErrorCode code, const std::string& message, json data = nullptr)
        : std::runtime_error(message), code_(code), data_(std::move(data)) {}
    ErrorCode code() const noexcept { return code_; }
    const json& data() const noexcept { return data_; }

  private:
    ErrorCode code_;
    json data_;
};

/// What a caller may do on the admin socket, and so what a method needs. A
/// read_only caller may call the methods that need read_only (they change
/// nothing and reveal no secret); an admin caller may call every method.
enum class Role { read_only, admin };

/// The request member by which a request lowers its own role (handle_line).
inline constexpr const char* role_member = "capf_role";

/// The role's name in messages: "read-only" or "admin".
const char* role_name(Role role) noexcept;

/// Who sends the requests of one connection, as the access policy decided
/// from its peer credentials. `description` names the caller and where its
/// role comes from, as refusals quote it: "uid 1001 (alice) has the
/// read-only role (admin.readonly_users)".
struct Caller {
    Role role;
    std::string description;
};

/// A method receives the request's params (an object; {} when absent) and
/// returns the result. It may throw Error; any other exception becomes an
/// internal error whose text is logged but not sent.
using Method = std::function<json(const json& params)>;

/// One method: its name, the role a caller needs for it, a one-line summary,
/// every parameter it accepts and its handler. A request carrying any other
/// parameter is refused before the handler runs, naming the allowed ones, so
/// a typo never passes silently. `needs` has no default and comes second, so
/// no registration compiles without saying who may call the method.
struct MethodSpec {
    std::string name;
    Role needs;
    std::string summary;
    std::vector<std::string> params;
    Method handler;
};

class Registry {
  public:
    /// Registers `spec.name`; a second registration of the same name replaces it.
    void add(MethodSpec spec);
    /// The method of that name, or nullptr.
    const MethodSpec* find(std::string_view name) const;
    /// name -> one-line summary, for `capfctl --help` and the `methods` call.
    std::map<std::string, std::string> summaries() const;

  private:
    std::map<std::string, MethodSpec, std::less<>> methods_;
};

/// The deepest nesting of arrays and objects a request may have. nlohmann's
/// parser (and the destructor of what it builds) recurses once per level, so
/// a request of a few hundred thousand '[' would overflow the stack; none of
/// our methods needs more than a handful of levels.
inline constexpr std::size_t max_json_depth = 64;

/// Whether `text` nests arrays/objects deeper than `limit` levels. One pass
/// over the bytes that tracks strings and their escapes (a '[' inside a
/// string does not count) and stops at the first level too deep; it never
/// builds anything, so it is safe on any input. Malformed JSON is left for
/// the parser to refuse.
bool nested_deeper_than(std::string_view text, std::size_t limit) noexcept;

/// Handles one request line from `caller` and returns the response line (no
/// newline). Returns an empty string for a notification (a request without
/// "id"). A request nested deeper than max_json_depth is refused
/// (invalid_request) before it is parsed; a method that needs the admin role
/// called by a read-only caller is refused (permission_denied) before its
/// parameters are looked at, naming the method, the role and the caller.
/// A request may lower its own role: the member `"capf_role": "read-only"`
/// (`capfctl --read-only`) makes even an admin caller read-only for it, so a
/// health check or a metrics job that runs as an admin uid cannot change
/// anything. Any other value of that member is refused (invalid_request).
std::string handle_line(const Registry& registry, std::string_view line, const Caller& caller);

/// A response line for an error outside any request (e.g. too large, refused).
std::string error_line(ErrorCode code, const std::string& message, const json& id = nullptr);

/// Who sent the request being handled on this thread (e.g. "uid 0 pid 42"),
/// for audit events; empty outside a request. Set by the transport.
const std::string& current_caller() noexcept;
class CallerScope {
  public:
    explicit CallerScope(std::string caller);
    ~CallerScope();
    CallerScope(const CallerScope&) = delete;
    CallerScope& operator=(const CallerScope&) = delete;

  private:
    std::string previous_;
};

// Helpers for methods reading params.

/// The member `key` as a string; Error(invalid_params) naming it otherwise.
std::string require_string(const json& params, const char* key);
/// The optional member `key` as a string, or `fallback`.
std::string optional_string(const json& params, const char* key, std::string fallback = {});

}  // namespace capf::jsonrpc
