#include "capf/common/config.hpp"

#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace capf {
namespace {

using json = nlohmann::json;
using std::chrono::milliseconds;

std::string join(const std::vector<std::string>& items, std::string_view sep) {
    std::string out;
    for (const auto& item : items) {
        if (!out.empty()) {
            out += sep;
        }
        out += item;
    }
    return out;
}

/// Walks the document, collecting every problem rather than stopping at the
/// first, so an operator fixes a file in one round.
class Reader {
  public:
    explicit Reader(std::string_view origin) : origin_(origin) {}

    void problem(const std::string& key, const json* value, const std::string& what) {
        std::string line = origin_ + ": key '" + key + "'";
        if (value != nullptr) {
            line += ": value " + value->dump();
        }
        line += ": " + what;
        problems_.push_back(std::move(line));
    }

    /// The member `name` of `section` (or null), after checking that
    /// `section` has no keys outside `known`.
    const json* section(const json& parent, const std::string& prefix, const char* name,
                        std::initializer_list<const char*> known) {
        const std::string key = prefix.empty() ? name : prefix + "." + name;
        const json* node = member(parent, name);
        if (node == nullptr) {
            return nullptr;
        }
        if (!node->is_object()) {
            problem(key, node, "must be an object");
            return nullptr;
        }
        check_known(*node, key, known);
        return node;
    }

    void check_known(const json& object, const std::string& prefix,
                     std::initializer_list<const char*> known) {
        for (const auto& item : object.items()) {
            // Not a structured binding: clang 14 cannot capture one in a lambda.
            const std::string& k = item.key();
            if (std::none_of(known.begin(), known.end(), [&](const char* n) { return k == n; })) {
                std::vector<std::string> names(known.begin(), known.end());
                problem(prefix.empty() ? k : prefix + "." + k, nullptr,
                        "unknown key; allowed here: " + join(names, ", "));
            }
        }
    }

    static const json* member(const json* parent, const char* name) {
        return parent == nullptr ? nullptr : member(*parent, name);
    }
    static const json* member(const json& parent, const char* name) {
        auto it = parent.find(name);
        return it == parent.end() ? nullptr : &*it;
    }

    template <typename T>
    void uint(const json* parent, const std::string& prefix, const char* name, T& out,
              std::uint64_t min, std::uint64_t max) {
        const json* v = member(parent, name);
        if (v == nullptr)
            return;
        const std::string key = prefix + "." + name;
        if (!v->is_number_unsigned() && !(v->is_number_integer() && v->get<std::int64_t>() >= 0)) {
            problem(key, v,
                    "must be a whole number from " + std::to_string(min) + " to " +
                        std::to_string(max));
            return;
        }
        const auto n = v->get<std::uint64_t>();
        if (n < min || n > max) {
            problem(key, v,
                    "out of range; allowed " + std::to_string(min) + " to " + std::to_string(max));
            return;
        }
        out = static_cast<T>(n);
    }

    void string(const json* parent, const std::string& prefix, const char* name, std::string& out,
                bool allow_empty = false) {
        const json* v = member(parent, name);
        if (v == nullptr)
            return;
        const std::string key = prefix + "." + name;
        if (!v->is_string() || (!allow_empty && v->get<std::string>().empty())) {
            problem(key, v, allow_empty ? "must be a string" : "must be a non-empty string");
            return;
        }
        out = v->get<std::string>();
    }

    void boolean(const json* parent, const std::string& prefix, const char* name, bool& out) {
        const json* v = member(parent, name);
        if (v == nullptr)
            return;
        if (!v->is_boolean()) {
            problem(prefix + "." + name, v, "must be true or false");
            return;
        }
        out = v->get<bool>();
    }

    /// A list of non-empty file paths, appended to `out`.
    void paths(const json* parent, const std::string& prefix, const char* name,
               std::vector<std::filesystem::path>& out) {
        const json* v = member(parent, name);
        if (v == nullptr)
            return;
        const bool ok = v->is_array() && std::all_of(v->begin(), v->end(), [](const json& f) {
                            return f.is_string() && !f.get<std::string>().empty();
                        });
        if (!ok) {
            problem(prefix + "." + name, v, "must be a list of certificate file paths");
            return;
        }
        for (const auto& f : *v)
            out.emplace_back(f.get<std::string>());
    }

    void path(const json* parent, const std::string& prefix, const char* name,
              std::filesystem::path& out) {
        std::string s;
        string(parent, prefix, name, s);
        if (!s.empty())
            out = s;
    }

    void choice(const json* parent, const std::string& prefix, const char* name, std::string& out,
                std::initializer_list<const char*> allowed) {
        const json* v = member(parent, name);
        if (v == nullptr)
            return;
        const std::string key = prefix + "." + name;
        if (v->is_string()) {
            const auto s = v->get<std::string>();
            if (std::any_of(allowed.begin(), allowed.end(),
                            [&](const char* a) { return s == a; })) {
                out = s;
                return;
            }
        }
        problem(key, v,
                "allowed values: " +
                    join(std::vector<std::string>(allowed.begin(), allowed.end()), ", "));
    }

    void duration(const json* parent, const std::string& prefix, const char* name,
                  milliseconds& out, milliseconds min, milliseconds max) {
        const json* v = member(parent, name);
        if (v == nullptr)
            return;
        const std::string key = prefix + "." + name;
        const std::string range = format_duration(min) + " to " + format_duration(max);
        std::optional<milliseconds> d;
        if (v->is_string()) {
            d = parse_duration(v->get<std::string>());
        }
        if (!d) {
            problem(
                key, v,
                "must be a duration such as \"90s\", \"30m\", \"2h\" or \"400d\", from " + range);
            return;
        }
        if (*d < min || *d > max) {
            problem(key, v, "out of range; allowed " + range);
            return;
        }
        out = *d;
    }

    std::vector<std::string>& problems() { return problems_; }

  private:
    std::string origin_;
    std::vector<std::string> problems_;
};

void read_key_pair(Reader& r, const json* node, const std::string& key, Config::KeyPair& out) {
    if (node == nullptr)
        return;
    r.path(node, key, "certificate", out.certificate);
    r.path(node, key, "private_key", out.private_key);
    std::string file;
    r.string(node, key, "passphrase_file", file);
    if (!file.empty())
        out.passphrase_file = file;
    std::string env;
    r.string(node, key, "passphrase_env", env);
    if (!env.empty())
        out.passphrase_env = env;
    if (out.passphrase_file && out.passphrase_env) {
        r.problem(key, nullptr, "give passphrase_file or passphrase_env, not both");
    }
}

std::string default_node_name() {
    std::array<char, 256> host{};
    if (::gethostname(host.data(), host.size() - 1) == 0 && host[0] != '\0') {
        return host.data();
    }
    return "capfd";
}

}  // namespace

std::optional<milliseconds> parse_duration(std::string_view text) {
    std::uint64_t n = 0;
    const char* end = text.data() + text.size();
    auto [p, ec] = std::from_chars(text.data(), end, n);
    // The bound keeps every unit's milliseconds far inside 64 bits.
    if (ec != std::errc{} || p == text.data() || n > 10'000'000) {
        return std::nullopt;
    }
    const std::string_view unit(p, static_cast<std::size_t>(end - p));
    const auto count = static_cast<milliseconds::rep>(n);
    if (unit == "ms")
        return milliseconds(count);
    if (unit == "s")
        return std::chrono::seconds(count);
    if (unit == "m")
        return std::chrono::minutes(count);
    if (unit == "h")
        return std::chrono::hours(count);
    if (unit == "d")
        return std::chrono::hours(24 * count);
    return std::nullopt;
}

std::string format_duration(milliseconds d) {
    const auto ms = d.count();
    if (ms == 0)
        return "0s";
    // Days from two on: "24h" reads better than "1d", "400d" than "9600h".
    if (ms % 86'400'000 == 0 && ms >= 2 * 86'400'000)
        return std::to_string(ms / 86'400'000) + "d";
    if (ms % 3'600'000 == 0)
        return std::to_string(ms / 3'600'000) + "h";
    if (ms % 60'000 == 0)
        return std::to_string(ms / 60'000) + "m";
    if (ms % 1000 == 0)
        return std::to_string(ms / 1000) + "s";
    return std::to_string(ms) + "ms";
}

std::string_view encryptor_type_name(const EncryptorConfig& config) noexcept {
    static constexpr std::array<std::string_view, 5> names = {"enc-sgn", "itl", "exec",
                                                              "hashes-file", "ctl"};
    static_assert(std::variant_size_v<EncryptorConfig> == names.size());
    return names[config.index()];
}

ConfigError::ConfigError(std::vector<std::string> problems)
    : std::runtime_error(join(problems, "\n")), problems_(std::move(problems)) {}

namespace {

/// A `listen` object (`prefix` "listen" or "tvs.listen"): an IP address and a port.
void read_address_and_port(Reader& r, const json* s, const std::string& prefix,
                           std::string& address, std::uint16_t& port) {
    if (s == nullptr)
        return;
    r.string(s, prefix, "address", address);
    in6_addr parsed{};
    if (::inet_pton(AF_INET, address.c_str(), &parsed) != 1 &&
        ::inet_pton(AF_INET6, address.c_str(), &parsed) != 1) {
        r.problem(prefix + ".address", Reader::member(*s, "address"),
                  "must be an IPv4 or IPv6 address such as \"0.0.0.0\" or \"::\"");
    }
    r.uint(s, prefix, "port", port, 1, 65535);
}

void read_listen(Reader& r, const json& doc, Config& c) {
    read_address_and_port(r, r.section(doc, "", "listen", {"address", "port"}), "listen",
                          c.listen.address, c.listen.port);
}

void read_tls(Reader& r, const json& doc, Config& c) {
    if (const json* s = r.section(doc, "", "tls", {"policy"})) {
        std::string policy = "legacy";
        r.choice(s, "tls", "policy", policy, {"legacy", "strict"});
        c.tls.policy = policy == "strict" ? TlsPolicy::strict : TlsPolicy::legacy;
    }
}

void read_identities(Reader& r, const json& doc, Config& c) {
    const std::initializer_list<const char*> key_pair_keys = {"certificate", "private_key",
                                                              "passphrase_file", "passphrase_env"};
    read_key_pair(r, r.section(doc, "", "identity", key_pair_keys), "identity", c.identity);
    if (const json* s = r.section(doc, "", "issuer", key_pair_keys)) {
        Config::KeyPair issuer;
        read_key_pair(r, s, "issuer", issuer);
        if (issuer.certificate.empty() || issuer.private_key.empty()) {
            r.problem("issuer", nullptr, "needs both certificate and private_key");
        }
        c.issuer = issuer;
    }
}

/// The rules of one role: the profile's, then the role's own overrides.
void read_chain_rules(Reader& r, const json& trust, const char* role, ChainRules& out) {
    const std::string key = std::string("trust.") + role;
    if (const json* s = r.section(trust, "trust", role, {"min_rsa_bits", "accept_sha1"})) {
        r.uint(s, key, "min_rsa_bits", out.min_rsa_bits, 512, 16384);
        r.boolean(s, key, "accept_sha1", out.accept_sha1);
    }
}

void read_trust(Reader& r, const json& doc, Config& c) {
    if (const json* s = r.section(doc, "", "trust",
                                  {"lsc_issuers", "mic_roots", "intermediates", "sudi_roots",
                                   "policy", "lsc", "mic", "sudi"})) {
        r.paths(s, "trust", "lsc_issuers", c.trust.lsc_issuers);
        r.paths(s, "trust", "mic_roots", c.trust.mic_roots);
        r.paths(s, "trust", "intermediates", c.trust.intermediates);
        r.paths(s, "trust", "sudi_roots", c.trust.sudi_roots);
        r.choice(s, "trust", "policy", c.trust.policy, {"legacy", "strict"});
        const ChainRules profile =
            c.trust.policy == "strict" ? ChainRules{2048, false} : ChainRules{1024, true};
        c.trust.lsc = c.trust.mic = c.trust.sudi = profile;
        read_chain_rules(r, *s, "lsc", c.trust.lsc);
        read_chain_rules(r, *s, "mic", c.trust.mic);
        read_chain_rules(r, *s, "sudi", c.trust.sudi);
    }
}

void read_lsc(Reader& r, const json& doc, Config& c) {
    if (const json* s = r.section(doc, "", "lsc", {"validity_days", "default_key_spec"})) {
        r.uint(s, "lsc", "validity_days", c.lsc.validity_days, 1, 1825);
        if (const json* v = Reader::member(*s, "default_key_spec")) {
            auto spec = v->is_string() ? ca::parse_key_spec(v->get<std::string>()) : std::nullopt;
            if (spec) {
                c.lsc.default_key_spec = *spec;
            } else {
                r.problem("lsc.default_key_spec", v,
                          "allowed values: " + ca::key_spec_list(ca::phone_key_specs()));
            }
        }
    }
}

void read_keygen(Reader& r, const json& doc, Config& c) {
    if (const json* s = r.section(doc, "", "keygen", {"timeout", "retries"})) {
        // IOS allows 1-120 minutes; seconds are accepted so tests can be quick.
        r.duration(s, "keygen", "timeout", c.keygen.timeout, std::chrono::seconds(1),
                   std::chrono::minutes(120));
        r.uint(s, "keygen", "retries", c.keygen.retries, 0, 100);
    }
}

void read_auth(Reader& r, const json& doc, Config& c) {
    if (const json* s =
            r.section(doc, "", "auth",
                      {"default_mode", "lockout_failures", "hash_iterations", "require_sudi"})) {
        r.choice(s, "auth", "default_mode", c.auth.default_mode,
                 {"null-string", "auth-string", "lsc", "mic", "lsc-or-mic"});
        r.uint(s, "auth", "lockout_failures", c.auth.lockout_failures, 1, 100);
        r.uint(s, "auth", "hash_iterations", c.auth.hash_iterations, 1000, 1000000);
        r.boolean(s, "auth", "require_sudi", c.auth.require_sudi);
    }
}

void read_limits(Reader& r, const json& doc, Config& c) {
    const json* s = r.section(
        doc, "", "limits",
        {"max_sessions", "max_sessions_per_source", "handshake_timeout", "auth_timeout",
         "read_timeout", "max_message_size", "shutdown_grace", "blocking_queue", "accept_backoff"});
    if (s == nullptr)
        return;
    r.uint(s, "limits", "max_sessions", c.limits.max_sessions, 1, 100000);
    r.duration(s, "limits", "handshake_timeout", c.limits.handshake_timeout,
               std::chrono::seconds(1), std::chrono::minutes(10));
    r.duration(s, "limits", "read_timeout", c.limits.read_timeout, std::chrono::seconds(1),
               std::chrono::minutes(10));
    r.uint(s, "limits", "max_message_size", c.limits.max_message_size, 1024, 65543);
    r.duration(s, "limits", "shutdown_grace", c.limits.shutdown_grace, milliseconds(0),
               std::chrono::minutes(10));
    r.uint(s, "limits", "blocking_queue", c.limits.blocking_queue, 1, 1000000);
    r.duration(s, "limits", "accept_backoff", c.limits.accept_backoff, milliseconds(10),
               std::chrono::seconds(10));
    // Bounded by the values read above (or their defaults), so read after them.
    r.uint(s, "limits", "max_sessions_per_source", c.limits.max_sessions_per_source, 1,
           c.limits.max_sessions);
    r.duration(s, "limits", "auth_timeout", c.limits.auth_timeout, std::chrono::seconds(1),
               c.limits.read_timeout);
    if (Reader::member(*s, "max_sessions_per_source") == nullptr &&
        c.limits.max_sessions_per_source > c.limits.max_sessions) {
        // The default never exceeds a smaller max_sessions.
        c.limits.max_sessions_per_source = c.limits.max_sessions;
    }
    if (Reader::member(*s, "auth_timeout") == nullptr &&
        c.limits.auth_timeout > c.limits.read_timeout) {
        c.limits.auth_timeout = c.limits.read_timeout;
    }
}

void read_database(Reader& r, const json& doc, Config& c) {
    if (const json* s =
            r.section(doc, "", "database",
                      {"connection", "pool_size", "statement_timeout", "lock_timeout"})) {
        r.string(s, "database", "connection", c.database.connection, true);
        r.uint(s, "database", "pool_size", c.database.pool_size, 1, 256);
        r.duration(s, "database", "statement_timeout", c.database.statement_timeout,
                   milliseconds(0), std::chrono::hours(24));
        r.duration(s, "database", "lock_timeout", c.database.lock_timeout, milliseconds(0),
                   std::chrono::hours(24));
    }
}

void read_node(Reader& r, const json& doc, Config& c) {
    if (const json* s = r.section(doc, "", "node", {"name"})) {
        r.string(s, "node", "name", c.node.name);
        if (c.node.name.size() > 64) {
            r.problem("node.name", Reader::member(*s, "name"), "longer than 64 characters");
        }
    }
}

/// A list of user or group names (`what`: "user" or "group") into `out`.
void read_names(Reader& r, const json& section, const char* name, const std::string& what,
                std::vector<std::string>& out) {
    const json* v = Reader::member(section, name);
    if (v == nullptr)
        return;
    const bool ok = v->is_array() && std::all_of(v->begin(), v->end(), [](const json& u) {
                        return u.is_string() && !u.get<std::string>().empty();
                    });
    if (ok) {
        out = v->get<std::vector<std::string>>();
    } else {
        r.problem(std::string("admin.") + name, v, "must be a list of " + what + " names");
    }
}

/// A name given both roles is a mistake in one of the two lists: the admin
/// role would win silently, so the file is refused instead.
void check_roles_apart(Reader& r, const json& section, const Config::Admin& a) {
    for (const auto& user : a.readonly_users) {
        if (std::find(a.allowed_users.begin(), a.allowed_users.end(), user) !=
            a.allowed_users.end()) {
            r.problem(
                "admin.readonly_users", Reader::member(section, "readonly_users"),
                "'" + user + "' is also in admin.allowed_users; keep each user in one of the two");
        }
    }
    if (a.allowed_group && std::find(a.readonly_groups.begin(), a.readonly_groups.end(),
                                     *a.allowed_group) != a.readonly_groups.end()) {
        r.problem("admin.readonly_groups", Reader::member(section, "readonly_groups"),
                  "'" + *a.allowed_group +
                      "' is also admin.allowed_group, whose members are full administrators");
    }
}

void read_admin(Reader& r, const json& doc, Config& c) {
    if (const json* s = r.section(
            doc, "", "admin",
            {"socket_path", "socket_mode", "allowed_group", "allowed_users", "readonly_users",
             "readonly_groups", "max_request_size", "client_timeout"})) {
        r.path(s, "admin", "socket_path", c.admin.socket_path);
        if (const json* v = Reader::member(*s, "socket_mode")) {
            // An octal string, as chmod takes it; JSON has no octal numbers.
            const std::string text = v->is_string() ? v->get<std::string>() : "";
            unsigned mode = 0;
            auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), mode, 8);
            if (text.empty() || ec != std::errc{} || p != text.data() + text.size() ||
                mode > 0777 || (mode & 0600) != 0600 || (mode & 0007) != 0) {
                r.problem("admin.socket_mode", v,
                          "must be an octal string like \"0660\" giving the owner read and "
                          "write and others nothing");
            } else {
                c.admin.socket_mode = mode;
            }
        }
        std::string group;
        r.string(s, "admin", "allowed_group", group);
        if (!group.empty())
            c.admin.allowed_group = group;
        read_names(r, *s, "allowed_users", "user", c.admin.allowed_users);
        read_names(r, *s, "readonly_users", "user", c.admin.readonly_users);
        read_names(r, *s, "readonly_groups", "group", c.admin.readonly_groups);
        check_roles_apart(r, *s, c.admin);
        r.uint(s, "admin", "max_request_size", c.admin.max_request_size, 1024, 64 * 1024 * 1024);
        r.duration(s, "admin", "client_timeout", c.admin.client_timeout, std::chrono::seconds(1),
                   std::chrono::hours(1));
    }
}

void read_audit(Reader& r, const json& doc, Config& c) {
    const json* s = r.section(doc, "", "audit",
                              {"retention", "outbox_retention", "purge_batch", "purge_interval"});
    if (s == nullptr)
        return;
    const auto day = std::chrono::hours(24);
    r.duration(s, "audit", "retention", c.audit.retention, day, 36500 * day);
    r.duration(s, "audit", "outbox_retention", c.audit.outbox_retention, std::chrono::minutes(1),
               36500 * day);
    r.uint(s, "audit", "purge_batch", c.audit.purge_batch, 100, 100000);
    r.duration(s, "audit", "purge_interval", c.audit.purge_interval, std::chrono::seconds(1), day);
}

void read_log(Reader& r, const json& doc, Config& c) {
    if (const json* s = r.section(doc, "", "log", {"level"})) {
        std::string level = "info";
        r.choice(s, "log", "level", level, {"trace", "debug", "info", "warn", "error"});
        static constexpr std::array<std::pair<std::string_view, LogLevel>, 5> levels = {{
            {"trace", LogLevel::trace},
            {"debug", LogLevel::debug},
            {"info", LogLevel::info},
            {"warn", LogLevel::warn},
            {"error", LogLevel::error},
        }};
        for (const auto& [name, value] : levels) {
            if (level == name)
                c.log.level = value;
        }
    }
}

void read_tftp_delivery(Reader& r, const json& tftp, Config::Tftp::Delivery& d) {
    const json* s = r.section(tftp, "tftp", "delivery",
                              {"retry_first", "retry_max", "lease", "batch", "parked_recheck"});
    if (s == nullptr)
        return;
    r.duration(s, "tftp.delivery", "retry_first", d.retry_first, std::chrono::seconds(1),
               std::chrono::hours(1));
    // Bounded by retry_first (read above, or its default), so read after it.
    r.duration(s, "tftp.delivery", "retry_max", d.retry_max, d.retry_first, std::chrono::hours(24));
    // Up to 2h, so that an exec timeout of the full 1h fits in half of it.
    r.duration(s, "tftp.delivery", "lease", d.lease, std::chrono::seconds(10),
               std::chrono::hours(2));
    r.uint(s, "tftp.delivery", "batch", d.batch, 1, 1000);
    r.duration(s, "tftp.delivery", "parked_recheck", d.parked_recheck, std::chrono::seconds(1),
               std::chrono::hours(24));
}

/// A directory or file the service writes or reads on its own: absolute,
/// because a daemon's working directory means nothing to the operator.
void absolute_path(Reader& r, const json* parent, const std::string& prefix, const char* name,
                   std::filesystem::path& out, bool required) {
    const json* v = Reader::member(parent, name);
    if (v == nullptr) {
        if (required)
            r.problem(prefix + "." + name, nullptr, "is required: an absolute path");
        return;
    }
    std::filesystem::path p;
    r.path(parent, prefix, name, p);
    if (p.empty())
        return;  // reported by path()
    if (!p.is_absolute()) {
        r.problem(prefix + "." + name, v, "must be an absolute path");
        return;
    }
    out = p;
}

/// The path as the filesystem resolves it (symbolic links of the parts that
/// exist followed), without a trailing separator.
std::filesystem::path resolved(const std::filesystem::path& p) {
    std::error_code ec;
    std::filesystem::path out = std::filesystem::weakly_canonical(p, ec);
    if (ec)
        out = p.lexically_normal();
    if (!out.has_filename() && out.has_relative_path())
        out = out.parent_path();
    return out;
}

/// Whether `inner` is `outer` or lies below it.
bool is_same_or_inside(const std::filesystem::path& inner, const std::filesystem::path& outer) {
    const auto i = resolved(inner);
    const auto o = resolved(outer);
    return std::mismatch(o.begin(), o.end(), i.begin(), i.end()).first == o.end();
}

void read_file_hash(Reader& r, const json* s, const std::string& key, TftpFileHash& out) {
    std::string hash = out == TftpFileHash::sha1 ? "sha1" : "sha512";
    r.choice(s, key, "hash", hash, {"sha1", "sha512"});
    out = hash == "sha1" ? TftpFileHash::sha1 : TftpFileHash::sha512;
}

EncSgnEncryptorConfig read_enc_sgn(Reader& r, const json& s, const std::string& key,
                                   const Config::Tftp& tftp) {
    r.check_known(s, key, {"type", "source_directory", "hash", "remove_plaintext", "when_revoked"});
    EncSgnEncryptorConfig e;
    absolute_path(r, &s, key, "source_directory", e.source_directory, true);
    read_file_hash(r, &s, key, e.hash);
    r.boolean(&s, key, "remove_plaintext", e.remove_plaintext);
    std::string when_revoked = "remove";
    r.choice(&s, key, "when_revoked", when_revoked, {"remove", "sign-plain"});
    e.sign_plain_when_revoked = when_revoked == "sign-plain";
    if (tftp.directory.empty()) {
        r.problem(key, nullptr, "type enc-sgn writes into tftp.directory, which is not set");
    } else if (!e.source_directory.empty() &&
               is_same_or_inside(e.source_directory, tftp.directory)) {
        // The TFTP server would serve the plaintext configuration.
        r.problem(key + ".source_directory", Reader::member(s, "source_directory"),
                  "must be outside tftp.directory (" + tftp.directory.string() +
                      "): the TFTP server must never serve the plaintext");
    }
    return e;
}

/// The `extra` certificates of an itl or ctl encryptor, with roles from `roles`.
std::vector<ItlExtraCertificate> read_extra_certificates(Reader& r, const json& s,
                                                         const std::string& key,
                                                         std::initializer_list<const char*> roles) {
    std::vector<ItlExtraCertificate> out;
    const json* extra = Reader::member(s, "extra");
    if (extra == nullptr)
        return out;
    if (!extra->is_array()) {
        r.problem(key + ".extra", extra, "must be a list of {\"certificate\", \"role\"} objects");
        return out;
    }
    for (std::size_t i = 0; i < extra->size(); ++i) {
        const json& item = (*extra)[i];
        const std::string item_key = key + ".extra[" + std::to_string(i) + "]";
        if (!item.is_object()) {
            r.problem(item_key, &item, "must be an object with certificate and role");
            continue;
        }
        r.check_known(item, item_key, {"certificate", "role"});
        ItlExtraCertificate cert;
        r.path(&item, item_key, "certificate", cert.certificate);
        r.choice(&item, item_key, "role", cert.role, roles);
        if (Reader::member(item, "certificate") == nullptr ||
            Reader::member(item, "role") == nullptr)
            r.problem(item_key, nullptr, "needs both certificate and role");
        out.push_back(std::move(cert));
    }
    return out;
}

ItlEncryptorConfig read_itl(Reader& r, const json& s, const std::string& key,
                            const Config::Tftp& tftp) {
    r.check_known(s, key, {"type", "hash", "extra", "rollback"});
    ItlEncryptorConfig e;
    read_file_hash(r, &s, key, e.hash);
    r.boolean(&s, key, "rollback", e.rollback);
    if (tftp.directory.empty())
        r.problem(key, nullptr, "type itl writes into tftp.directory, which is not set");
    e.extra = read_extra_certificates(r, s, key,
                                      {"ccm", "ccm-tftp", "tftp", "capf", "app-server", "tvs"});
    return e;
}

CtlEncryptorConfig read_ctl(Reader& r, const json& s, const std::string& key,
                            const Config::Tftp& tftp) {
    r.check_known(s, key, {"type", "hash", "sast1", "sast2", "signer", "extra", "per_device"});
    CtlEncryptorConfig e;
    read_file_hash(r, &s, key, e.hash);
    const std::initializer_list<const char*> key_pair_keys = {"certificate", "private_key",
                                                              "passphrase_file", "passphrase_env"};
    read_key_pair(r, r.section(s, key, "sast1", key_pair_keys), key + ".sast1", e.sast1);
    read_key_pair(r, r.section(s, key, "sast2", key_pair_keys), key + ".sast2", e.sast2);
    std::string signer = "sast1";
    r.choice(&s, key, "signer", signer, {"sast1", "sast2"});
    e.signer =
        signer == "sast2" ? CtlEncryptorConfig::Signer::sast2 : CtlEncryptorConfig::Signer::sast1;
    r.boolean(&s, key, "per_device", e.per_device);
    e.extra = read_extra_certificates(r, s, key, {"ccm", "ccm-tftp", "tftp", "capf", "app-server"});
    if (tftp.directory.empty())
        r.problem(key, nullptr, "type ctl writes into tftp.directory, which is not set");
    // Section 10: two different credentials, so that one is the spare. The
    // keys themselves are compared when capfd loads them.
    if (resolved(e.sast1.certificate) == resolved(e.sast2.certificate) ||
        resolved(e.sast1.private_key) == resolved(e.sast2.private_key))
        r.problem(key + ".sast2", Reader::member(s, "sast2"),
                  "must name other files than " + key +
                      ".sast1: a CTL holds two different SAST certificates and keys, the second "
                      "the spare that signs when the first is lost");
    return e;
}

ExecEncryptorConfig read_exec(Reader& r, const json& s, const std::string& key) {
    r.check_known(s, key, {"type", "argv", "timeout"});
    ExecEncryptorConfig e;
    const json* argv = Reader::member(s, "argv");
    const bool ok = argv != nullptr && argv->is_array() && !argv->empty() &&
                    std::all_of(argv->begin(), argv->end(), [](const json& a) {
                        return a.is_string() && !a.get<std::string>().empty();
                    });
    if (!ok) {
        r.problem(key + ".argv", argv,
                  "must be a non-empty list of non-empty strings: the program, then its "
                  "arguments (no shell)");
    } else if (!std::filesystem::path(argv->front().get<std::string>()).is_absolute()) {
        r.problem(key + ".argv", argv, "argv[0] must be an absolute path to the program");
    } else {
        e.argv = argv->get<std::vector<std::string>>();
    }
    r.duration(&s, key, "timeout", e.timeout, std::chrono::seconds(1), std::chrono::hours(1));
    return e;
}

HashesFileEncryptorConfig read_hashes_file(Reader& r, const json& s, const std::string& key) {
    r.check_known(s, key, {"type", "path", "format"});
    HashesFileEncryptorConfig e;
    absolute_path(r, &s, key, "path", e.path, true);
    std::string format = "csv";
    r.choice(&s, key, "format", format, {"csv", "json"});
    e.format = format == "json" ? HashesFileEncryptorConfig::Format::json
                                : HashesFileEncryptorConfig::Format::csv;
    return e;
}

/// One element of tftp.encryptors; nothing when its type is unusable.
std::optional<EncryptorConfig> read_encryptor(Reader& r, const json& s, const std::string& key,
                                              const Config::Tftp& tftp) {
    if (!s.is_object()) {
        r.problem(key, &s, "must be an object with a \"type\"");
        return std::nullopt;
    }
    std::string type;
    r.choice(&s, key, "type", type, {"enc-sgn", "itl", "ctl", "exec", "hashes-file"});
    if (Reader::member(s, "type") == nullptr)
        r.problem(key + ".type", nullptr, "is required: enc-sgn, itl, ctl, exec or hashes-file");
    if (type == "enc-sgn")
        return read_enc_sgn(r, s, key, tftp);
    if (type == "itl")
        return read_itl(r, s, key, tftp);
    if (type == "ctl")
        return read_ctl(r, s, key, tftp);
    if (type == "exec")
        return read_exec(r, s, key);
    if (type == "hashes-file")
        return read_hashes_file(r, s, key);
    return std::nullopt;
}

/// Types that maintain one thing (the TFTP directory's files, the ITL) may
/// appear once; two hashes-files must not write one file.
void check_encryptor_set(Reader& r, const std::vector<EncryptorConfig>& encryptors) {
    std::vector<std::string_view> seen;
    std::vector<std::filesystem::path> export_paths;
    for (const auto& e : encryptors) {
        const std::string_view type = encryptor_type_name(e);
        const bool unique = type == "enc-sgn" || type == "itl" || type == "ctl";
        if (unique && std::find(seen.begin(), seen.end(), type) != seen.end()) {
            r.problem("tftp.encryptors", nullptr,
                      "type " + std::string(type) +
                          " appears twice; only exec and hashes-file may appear more than once");
        }
        seen.push_back(type);
        if (const auto* h = std::get_if<HashesFileEncryptorConfig>(&e); h && !h->path.empty()) {
            const auto p = resolved(h->path);
            if (std::find(export_paths.begin(), export_paths.end(), p) != export_paths.end())
                r.problem("tftp.encryptors", nullptr,
                          "two hashes-file encryptors write " + h->path.string());
            export_paths.push_back(p);
        }
    }
}

/// A node runs a program only while it will end (timeout included) inside
/// its lease on the delivery; a program whose timeout does not fit in half
/// the lease could not even start after the claim took some time, or would
/// outlive the lease and push a device's older facts after another node
/// delivered the newer ones.
void check_exec_timeouts(Reader& r, const json& tftp, const Config::Tftp& config) {
    const json* list = Reader::member(tftp, "encryptors");
    if (list == nullptr || !list->is_array())
        return;
    const milliseconds half_lease = config.delivery.lease / 2;
    for (std::size_t i = 0; i < list->size(); ++i) {
        const json& item = (*list)[i];
        const json* type = Reader::member(item, "type");
        if (!item.is_object() || type == nullptr || *type != "exec")
            continue;
        // Read again (reported already if malformed): the index is the key's.
        milliseconds timeout = ExecEncryptorConfig{}.timeout;
        if (const json* t = Reader::member(item, "timeout")) {
            const auto parsed =
                t->is_string() ? parse_duration(t->get<std::string>()) : std::nullopt;
            if (!parsed)
                continue;
            timeout = *parsed;
        }
        if (timeout > half_lease) {
            const std::string key = "tftp.encryptors[" + std::to_string(i) + "].timeout";
            r.problem(key, Reader::member(item, "timeout"),
                      "must fit inside half of tftp.delivery.lease (" +
                          format_duration(config.delivery.lease) + "): at most " +
                          format_duration(half_lease) +
                          ", so that the program ends while this node still holds the delivery; "
                          "lower the timeout or raise tftp.delivery.lease");
        }
    }
}

void read_tftp(Reader& r, const json& doc, Config& c) {
    const json* s = r.section(doc, "", "tftp", {"identity", "directory", "delivery", "encryptors"});
    if (s == nullptr)
        return;
    Config::Tftp tftp;
    read_key_pair(r,
                  r.section(*s, "tftp", "identity",
                            {"certificate", "private_key", "passphrase_file", "passphrase_env"}),
                  "tftp.identity", tftp.identity);
    absolute_path(r, s, "tftp", "directory", tftp.directory, false);
    read_tftp_delivery(r, *s, tftp.delivery);
    if (const json* list = Reader::member(*s, "encryptors")) {
        if (!list->is_array()) {
            r.problem("tftp.encryptors", list, "must be a list of encryptor objects");
        } else {
            for (std::size_t i = 0; i < list->size(); ++i) {
                const std::string key = "tftp.encryptors[" + std::to_string(i) + "]";
                if (auto e = read_encryptor(r, (*list)[i], key, tftp))
                    tftp.encryptors.push_back(std::move(*e));
            }
            check_encryptor_set(r, tftp.encryptors);
            check_exec_timeouts(r, *s, tftp);
        }
    }
    c.tftp = std::move(tftp);
}
void read_tvs_limits(Reader& r, const json& s, Config::Tvs& tvs) {
    r.duration(&s, "tvs", "default_ttl", tvs.default_ttl, std::chrono::seconds(1),
               std::chrono::hours(24 * 3650));
    r.uint(&s, "tvs", "max_sessions", tvs.max_sessions, 1, 100000);
    r.uint(&s, "tvs", "max_sessions_per_source", tvs.max_sessions_per_source, 1, tvs.max_sessions);
    r.duration(&s, "tvs", "read_timeout", tvs.read_timeout, std::chrono::seconds(1),
               std::chrono::minutes(10));
    r.uint(&s, "tvs", "max_requests_per_connection", tvs.max_requests_per_connection, 1, 100000);
    r.uint(&s, "tvs", "max_request_size", tvs.max_request_size, 1024, 65535);
    r.duration(&s, "tvs", "refresh_interval", tvs.refresh_interval, milliseconds(100),
               std::chrono::minutes(10));
}

void read_tvs(Reader& r, const json& doc, Config& c) {
    const json* s = r.section(
        doc, "", "tvs",
        {"enabled", "listen", "identity", "default_ttl", "max_sessions", "max_sessions_per_source",
         "read_timeout", "max_requests_per_connection", "max_request_size", "refresh_interval"});
    if (s == nullptr)
        return;
    bool enabled = true;
    r.boolean(s, "tvs", "enabled", enabled);
    Config::Tvs tvs;
    read_address_and_port(r, r.section(*s, "tvs", "listen", {"address", "port"}), "tvs.listen",
                          tvs.listen.address, tvs.listen.port);
    read_key_pair(r,
                  r.section(*s, "tvs", "identity",
                            {"certificate", "private_key", "passphrase_file", "passphrase_env"}),
                  "tvs.identity", tvs.identity);
    read_tvs_limits(r, *s, tvs);
    if (tvs.listen.port == c.listen.port && tvs.listen.address == c.listen.address) {
        r.problem("tvs.listen.port", nullptr,
                  "is the phone port (listen.port " + std::to_string(c.listen.port) +
                      "); the TVS needs a port of its own, normally 2445");
    }
    if (enabled)
        c.tvs = std::move(tvs);
}
}  // namespace

Config parse_config(std::string_view json_text, std::string_view origin) {
    json doc;
    try {
        doc = json::parse(json_text);
    } catch (const json::parse_error& e) {
        throw ConfigError({std::string(origin) + ": not valid JSON: " + e.what()});
    }
    if (!doc.is_object()) {
        throw ConfigError({std::string(origin) + ": the top level must be a JSON object"});
    }
    Config c;
    Reader r(origin);
    r.check_known(doc, "",
                  {"listen", "tls", "identity", "issuer", "trust", "lsc", "keygen", "auth",
                   "limits", "database", "node", "admin", "audit", "log", "tftp", "tvs"});

    read_listen(r, doc, c);
    read_tls(r, doc, c);
    read_identities(r, doc, c);
    read_trust(r, doc, c);
    read_lsc(r, doc, c);
    read_keygen(r, doc, c);
    read_auth(r, doc, c);
    read_limits(r, doc, c);
    read_database(r, doc, c);
    read_node(r, doc, c);
    read_admin(r, doc, c);
    read_audit(r, doc, c);
    read_log(r, doc, c);
    read_tftp(r, doc, c);
    read_tvs(r, doc, c);
    if (c.node.name.empty()) {
        c.node.name = default_node_name();
    }
    if (!r.problems().empty()) {
        throw ConfigError(std::move(r.problems()));
    }
    return c;
}

const CtlEncryptorConfig* ctl_encryptor(const Config& config) noexcept {
    if (!config.tftp)
        return nullptr;
    for (const auto& e : config.tftp->encryptors) {
        if (const auto* ctl = std::get_if<CtlEncryptorConfig>(&e))
            return ctl;
    }
    return nullptr;
}

bool itl_rollback_configured(const Config& config) noexcept {
    if (!config.tftp)
        return false;
    for (const auto& e : config.tftp->encryptors) {
        if (const auto* itl = std::get_if<ItlEncryptorConfig>(&e); itl && itl->rollback)
            return true;
    }
    return false;
}

Config load_config(const std::filesystem::path& path) {
    std::ifstream in(path);
    if (!in) {
        throw ConfigError({path.string() + ": cannot read the configuration file"});
    }
    std::ostringstream text;
    text << in.rdbuf();
    return parse_config(text.str(), path.string());
}

}  // namespace capf
