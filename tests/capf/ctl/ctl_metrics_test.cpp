// capfctl metrics: server.stats as Prometheus text (exact lines for a given
// result, escaping, sections left out), capfd_up 0 when capfd cannot be
// asked (through a fake capfd, and through run() on a socket that is not
// there), and the atomic write node_exporter's textfile collector relies on.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>
#include <utility>

#include "capf/ctl/admin_client.hpp"
#include "capf/ctl/cli.hpp"
#include "capf/ctl/metrics.hpp"

// The file's own namespace: the suite is compiled in unity batches, and its
// file-local names must not meet another file's.
namespace ctl_metrics_test_cases {

using namespace capf::ctl;
namespace fs = std::filesystem;

namespace {

/// A server.stats result as capfd 0.1 sends it, every section present.
const json full_stats = json::parse(R"({
  "uptime_seconds": 3600,
  "sessions": {"active": 2, "accepted": 120, "completed": 110, "rejected_over_limit": 3,
               "rejected_per_source": 4, "handshake_timeouts": 5, "handshake_failures": 6},
  "devices": {"total": 10, "with_lsc": 7, "pending_install": 2, "pending_fetch": 1,
              "pending_delete": 0, "auth_strings_set": 3, "auth_locked": 1,
              "operations_in_progress": 1},
  "deliveries": {"pending": 4, "failing": 1, "delivered_last_hour": 25, "parked": 2,
                 "last_error": "exec: exit status 1"},
  "trust_anchors": {"lsc_issuers": 1, "mic_roots": 2, "sudi_roots": 0, "intermediates": 3},
  "events_last_24h": [{"event": "session", "outcome": "success", "count": 12},
                      {"event": "operation", "outcome": "failure", "count": 2}]
})");

const std::string up_lines =
    "# HELP capfd_up 1 when capfd answered server.stats, 0 when it could not be reached or did "
    "not answer.\n"
    "# TYPE capfd_up gauge\n";

const std::string down_text = up_lines + "capfd_up 0\n";

// The format's grammar by hand: no std::regex, which GCC 12 warns inside
// (maybe-uninitialized) in the sanitizer build.
bool name_char(char c, bool first, bool colon) {
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    return alpha || (colon && c == ':') || (!first && c >= '0' && c <= '9');
}

/// The length of the name at the start of `s` ([a-zA-Z_:][a-zA-Z0-9_:]*, or
/// without ':' for a label name); 0 when there is none.
std::size_t name_length(std::string_view s, bool colon = true) {
    std::size_t n = 0;
    while (n < s.size() && name_char(s[n], n == 0, colon))
        ++n;
    return n;
}

/// -?[0-9]+(\.[0-9]+)?(e[+-]?[0-9]+)?, the whole of `s`.
bool is_number(std::string_view s) {
    std::size_t i = 0;
    const auto digits = [&] {
        const std::size_t from = i;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9')
            ++i;
        return i > from;
    };
    if (i < s.size() && s[i] == '-')
        ++i;
    if (!digits())
        return false;
    if (i < s.size() && s[i] == '.' && (++i, !digits()))
        return false;
    if (i < s.size() && s[i] == 'e') {
        ++i;
        if (i < s.size() && (s[i] == '+' || s[i] == '-'))
            ++i;
        if (!digits())
            return false;
    }
    return i == s.size();
}

/// The labels `{name="value",...}` at the start of `s`: their length, or 0
/// when malformed. Values may hold only the escapes \\, \" and \n.
std::size_t labels_length(std::string_view s) {
    std::size_t i = 1;  // after '{'
    for (;;) {
        const std::size_t n = name_length(s.substr(i), false);
        if (n == 0 || i + n + 1 >= s.size() || s[i + n] != '=' || s[i + n + 1] != '"')
            return 0;
        for (i += n + 2; i < s.size() && s[i] != '"'; ++i) {
            if (s[i] == '\n')
                return 0;
            if (s[i] == '\\' && (++i >= s.size() || (s[i] != '\\' && s[i] != '"' && s[i] != 'n')))
                return 0;
        }
        if (++i >= s.size())
            return 0;
        if (s[i] == '}')
            return i + 1;
        if (s[i++] != ',')
            return 0;
    }
}

/// A sample line: its metric name, or empty when it is not one.
std::string sample_name(std::string_view line) {
    const std::size_t n = name_length(line);
    if (n == 0)
        return {};
    std::size_t i = n;
    if (i < line.size() && line[i] == '{') {
        const std::size_t l = labels_length(line.substr(i));
        if (l == 0)
            return {};
        i += l;
    }
    if (i >= line.size() || line[i] != ' ' || !is_number(line.substr(i + 1)))
        return {};
    return std::string(line.substr(0, n));
}

/// "# HELP name text" or "# TYPE name counter|gauge": the name and the rest,
/// or nothing.
std::optional<std::pair<std::string, std::string>> comment(std::string_view line,
                                                           std::string_view kind) {
    if (!line.starts_with(kind))
        return std::nullopt;
    line.remove_prefix(kind.size());
    const std::size_t n = name_length(line);
    if (n == 0 || n + 1 >= line.size() || line[n] != ' ')
        return std::nullopt;
    return std::pair{std::string(line.substr(0, n)), std::string(line.substr(n + 1))};
}

/// Checks the text against the format as node_exporter's parser reads it:
/// every line a HELP, a TYPE or a sample; each family's HELP and TYPE once,
/// before its samples; samples named for the family they follow; counters
/// ending in _total; no series twice; a final line feed. Returns the
/// problems found (empty: valid).
std::vector<std::string> format_problems(const std::string& text) {
    std::vector<std::string> problems;
    if (text.empty() || text.back() != '\n')
        problems.push_back("no final line feed");
    std::map<std::string, int> helps, types;
    std::set<std::string> series;
    std::string family, family_type;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (const auto help = comment(line, "# HELP ")) {
            family = help->first;
            family_type.clear();
            if (++helps[family] > 1)
                problems.push_back("HELP twice: " + line);
        } else if (const auto type = comment(line, "# TYPE ");
                   type && (type->second == "counter" || type->second == "gauge")) {
            if (type->first != family || ++types[family] > 1)
                problems.push_back("TYPE not once after its HELP: " + line);
            family_type = type->second;
            if (family_type == "counter" && !family.ends_with("_total"))
                problems.push_back("counter without _total: " + line);
        } else if (const std::string name = sample_name(line); !name.empty()) {
            if (name != family || family_type.empty())
                problems.push_back("sample outside its family: " + line);
            if (!series.insert(line.substr(0, line.rfind(' '))).second)
                problems.push_back("series twice: " + line);
        } else {
            problems.push_back("not a line of the format: " + line);
        }
    }
    return problems;
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::set<std::string> names_in(const fs::path& dir) {
    std::set<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir))
        names.insert(entry.path().filename().string());
    return names;
}

/// A directory of its own, removed afterwards.
struct TempDir {
    fs::path path;
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "capf-metrics-XXXXXX").string();
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        path = pattern;
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir() {
        std::error_code ignored;
        fs::remove_all(path, ignored);
    }
};

std::unique_ptr<Cli> parsed(std::vector<std::string> args) {
    auto cli = std::make_unique<Cli>("/default.sock");
    cli->parse(std::move(args));
    return cli;
}

/// Runs the parsed command against `call` and shows it as capfctl's run()
/// does; returns what went to standard output, and what was thrown.
std::string run_with(const Cli& cli, const Call& call, std::string& thrown) {
    std::ostringstream out;
    try {
        print_result(cli.global, cli.command, execute(cli.command, call), out);
    } catch (const std::exception& e) {
        thrown = e.what();
    }
    return out.str();
}

}  // namespace

TEST_CASE("ctl metrics: the format check used below finds what it should (control)", "[metrics]") {
    CHECK(format_problems(down_text).empty());
    CHECK_FALSE(format_problems("capfd_up 1\n").empty());           // no HELP, no TYPE
    CHECK_FALSE(format_problems(up_lines + "capfd_up 1").empty());  // no final line feed
    CHECK_FALSE(format_problems(up_lines + up_lines + "capfd_up 1\n").empty());   // HELP twice
    CHECK_FALSE(format_problems(up_lines + "capfd_up 1\ncapfd_up 0\n").empty());  // series twice
    CHECK_FALSE(format_problems(up_lines + "capfd_down 1\n").empty());  // another family's sample
    CHECK_FALSE(format_problems("# HELP capfd_x x\n# TYPE capfd_x counter\ncapfd_x 1\n").empty());
    CHECK_FALSE(format_problems(up_lines + "capfd_up{a=\"x\"y\"} 1\n").empty());  // bare quote
    CHECK_FALSE(format_problems(up_lines + "capfd_up one\n").empty());
}

TEST_CASE("ctl metrics: a full server.stats result, line by line", "[metrics]") {
    const std::string expected =
        up_lines + "capfd_up 1\n" +
        "# HELP capfd_uptime_seconds Seconds since capfd started.\n"
        "# TYPE capfd_uptime_seconds gauge\n"
        "capfd_uptime_seconds 3600\n"
        "# HELP capfd_sessions_active Phone sessions open now.\n"
        "# TYPE capfd_sessions_active gauge\n"
        "capfd_sessions_active 2\n"
        "# HELP capfd_sessions_accepted_total Phone connections accepted since capfd started.\n"
        "# TYPE capfd_sessions_accepted_total counter\n"
        "capfd_sessions_accepted_total 120\n"
        "# HELP capfd_sessions_completed_total Phone sessions that passed the TLS handshake and "
        "ended, since capfd started.\n"
        "# TYPE capfd_sessions_completed_total counter\n"
        "capfd_sessions_completed_total 110\n"
        "# HELP capfd_sessions_rejected_total Phone connections closed at accept since capfd "
        "started, by reason: over_limit (limits.max_sessions were open), per_source (the address "
        "had limits.max_sessions_per_source open).\n"
        "# TYPE capfd_sessions_rejected_total counter\n"
        "capfd_sessions_rejected_total{reason=\"over_limit\"} 3\n"
        "capfd_sessions_rejected_total{reason=\"per_source\"} 4\n"
        "# HELP capfd_tls_handshake_failures_total TLS handshakes with phones that failed since "
        "capfd started, by reason: timeout (limits.handshake_timeout passed), error (refused or "
        "broken off).\n"
        "# TYPE capfd_tls_handshake_failures_total counter\n"
        "capfd_tls_handshake_failures_total{reason=\"timeout\"} 5\n"
        "capfd_tls_handshake_failures_total{reason=\"error\"} 6\n"
        "# HELP capfd_devices Devices in capfd's database, by state (the states overlap; total "
        "counts every device).\n"
        "# TYPE capfd_devices gauge\n"
        "capfd_devices{state=\"auth_locked\"} 1\n"
        "capfd_devices{state=\"auth_strings_set\"} 3\n"
        "capfd_devices{state=\"operations_in_progress\"} 1\n"
        "capfd_devices{state=\"pending_delete\"} 0\n"
        "capfd_devices{state=\"pending_fetch\"} 1\n"
        "capfd_devices{state=\"pending_install\"} 2\n"
        "capfd_devices{state=\"total\"} 10\n"
        "capfd_devices{state=\"with_lsc\"} 7\n"
        "# HELP capfd_deliveries Deliveries to the TFTP side waiting in the outbox, by state: "
        "pending (not delivered yet), failing (of those, the ones that failed at least once), "
        "parked (a device and encryptor whose failure waits for its cause to change: capfctl "
        "tftp failures).\n"
        "# TYPE capfd_deliveries gauge\n"
        "capfd_deliveries{state=\"pending\"} 4\n"
        "capfd_deliveries{state=\"failing\"} 1\n"
        "capfd_deliveries{state=\"parked\"} 2\n"
        "# HELP capfd_deliveries_delivered_last_hour Deliveries to the TFTP side completed in the "
        "last hour.\n"
        "# TYPE capfd_deliveries_delivered_last_hour gauge\n"
        "capfd_deliveries_delivered_last_hour 25\n"
        "# HELP capfd_trust_anchors Trust anchors capfd holds, by role.\n"
        "# TYPE capfd_trust_anchors gauge\n"
        "capfd_trust_anchors{role=\"intermediate\"} 3\n"
        "capfd_trust_anchors{role=\"lsc_issuer\"} 1\n"
        "capfd_trust_anchors{role=\"mic_root\"} 2\n"
        "capfd_trust_anchors{role=\"sudi_root\"} 0\n"
        "# HELP capfd_audit_events_last_24h Audit events of the last 24 hours, by event and "
        "outcome.\n"
        "# TYPE capfd_audit_events_last_24h gauge\n"
        "capfd_audit_events_last_24h{event=\"session\",outcome=\"success\"} 12\n"
        "capfd_audit_events_last_24h{event=\"operation\",outcome=\"failure\"} 2\n";
    const std::string text = prometheus_text(full_stats);
    CHECK(text == expected);
    CHECK(format_problems(text).empty());
    // The delivery's last error is text, not a figure: it is not a label either.
    CHECK(text.find("exec: exit status 1") == std::string::npos);
}

TEST_CASE("ctl metrics: sections capfd leaves out leave their families out", "[metrics]") {
    json stats = full_stats;
    stats.erase("sessions");
    stats.erase("deliveries");
    stats["events_last_24h"] = json::array();
    const std::string text = prometheus_text(stats);
    CHECK(format_problems(text).empty());
    CHECK(text.find("capfd_sessions") == std::string::npos);
    CHECK(text.find("capfd_tls_handshake") == std::string::npos);
    CHECK(text.find("capfd_deliveries") == std::string::npos);
    // No samples, no family: not even its HELP and TYPE.
    CHECK(text.find("capfd_audit_events_last_24h") == std::string::npos);
    CHECK(text.find("capfd_devices{state=\"total\"} 10\n") != std::string::npos);
    CHECK(text.find("capfd_trust_anchors{role=\"mic_root\"} 2\n") != std::string::npos);

    // Only the uptime: capfd_up and the uptime, nothing else.
    CHECK(prometheus_text({{"uptime_seconds", 5}}) ==
          up_lines +
              "capfd_up 1\n"
              "# HELP capfd_uptime_seconds Seconds since capfd started.\n"
              "# TYPE capfd_uptime_seconds gauge\n"
              "capfd_uptime_seconds 5\n");
    // A result of the wrong shape (an older or broken capfd) is no figure at all.
    const std::string wrong = up_lines + "capfd_up 1\n";
    CHECK(prometheus_text(json::array({1, 2})) == wrong);
    CHECK(prometheus_text(nullptr) == wrong);
    CHECK(prometheus_text({{"uptime_seconds", "long"},
                           {"sessions", "none"},
                           {"devices", {{"total", nullptr}, {"with_lsc", true}}},
                           {"events_last_24h", {{"event", "session"}}}}) == wrong);
    // A sample that is not a number is dropped, its family's others stay.
    const std::string partial =
        prometheus_text({{"sessions", {{"rejected_over_limit", "x"}, {"rejected_per_source", 9}}}});
    CHECK(partial.find("capfd_sessions_rejected_total{reason=\"per_source\"} 9\n") !=
          std::string::npos);
    CHECK(partial.find("over_limit\"}") == std::string::npos);
    CHECK(format_problems(partial).empty());
}

TEST_CASE("ctl metrics: the ITL rollback as a 0/1 gauge, CTL refusals as a counter", "[metrics]") {
    json stats = full_stats;
    stats["itl_rollback"] = true;
    stats["ctl"] = {{"signer_refusals", 3}};
    const std::string on = prometheus_text(stats);
    CHECK(format_problems(on).empty());
    CHECK(on.find("# TYPE capfd_itl_rollback gauge\ncapfd_itl_rollback 1\n") != std::string::npos);
    CHECK(on.find("# TYPE capfd_ctl_signer_refusals_total counter\n"
                  "capfd_ctl_signer_refusals_total 3\n") != std::string::npos);
    stats["itl_rollback"] = false;
    stats.erase("ctl");
    const std::string off = prometheus_text(stats);
    CHECK(off.find("capfd_itl_rollback 0\n") != std::string::npos);
    CHECK(off.find("capfd_ctl_signer_refusals_total") == std::string::npos);
}

TEST_CASE("ctl metrics: label values are escaped as the format says", "[metrics]") {
    CHECK(escape_label_value("plain") == "plain");
    CHECK(escape_label_value("a\\b") == "a\\\\b");
    CHECK(escape_label_value("say \"hi\"") == "say \\\"hi\\\"");
    CHECK(escape_label_value("two\nlines") == "two\\nlines");
    CHECK(escape_label_value("tab\tstays") == "tab\tstays");

    const json stats = {{"events_last_24h",
                         {{{"event", "odd\\event"}, {"outcome", "quote\"d\nnext"}, {"count", 1}}}},
                        {"devices", {{"new \"state\"", 4}}}};
    const std::string text = prometheus_text(stats);
    CHECK(text.find(
              "capfd_audit_events_last_24h{event=\"odd\\\\event\",outcome=\"quote\\\"d\\nnext\"} "
              "1\n") != std::string::npos);
    CHECK(text.find("capfd_devices{state=\"new \\\"state\\\"\"} 4\n") != std::string::npos);
    CHECK(format_problems(text).empty());
}

TEST_CASE("ctl metrics: whole numbers print as integers, others as decimals", "[metrics]") {
    const auto uptime = [](const json& value) {
        const std::string text = prometheus_text({{"uptime_seconds", value}});
        const std::string start = "\ncapfd_uptime_seconds ";
        const auto at = text.find(start) + start.size();
        return text.substr(at, text.find('\n', at) - at);
    };
    CHECK(uptime(3600) == "3600");
    CHECK(uptime(3600.0) == "3600");
    CHECK(uptime(-0.0) == "0");
    CHECK(uptime(2.5) == "2.5");
    CHECK(uptime(0.1) == "0.1");
    CHECK(uptime(-7) == "-7");
    CHECK(uptime(json::parse("18446744073709551615")) == "18446744073709551615");
    CHECK(uptime(1e300) == "1e+300");
    CHECK(format_problems(prometheus_text({{"uptime_seconds", 1e300}})).empty());
}

TEST_CASE("ctl metrics: capfd_up 0 alone when capfd cannot be asked", "[metrics]") {
    CHECK(prometheus_down_text() == down_text);
    CHECK(format_problems(down_text).empty());

    const auto cli = parsed({"metrics"});
    std::vector<std::string> methods;
    std::string thrown;
    const std::string printed = run_with(
        *cli,
        [&methods](const std::string& method, const json& params) -> json {
            methods.push_back(method);
            CHECK(params == json::object());
            throw capf::AdminCallError(0, "cannot connect to /x.sock: No such file or directory");
        },
        thrown);
    CHECK(methods == std::vector<std::string>{"server.stats"});
    CHECK(printed == down_text);
    CHECK(thrown == "cannot connect to /x.sock: No such file or directory (printed capfd_up 0)");

    // capfd answered, with an error (its database is down): no figures either.
    thrown.clear();
    CHECK(run_with(
              *cli,
              [](const std::string&, const json&) -> json {
                  throw capf::AdminCallError(-32000, "the database is unavailable");
              },
              thrown) == down_text);
    CHECK(thrown == "the database is unavailable (printed capfd_up 0)");
}

TEST_CASE("ctl metrics: --output holds capfd_up 0 when capfd cannot be asked", "[metrics]") {
    TempDir dir;
    const fs::path file = dir.path / "capfd.prom";
    {
        std::ofstream old(file);
        old << "capfd_up 1\n";
    }
    const auto cli = parsed({"metrics", "--output", file.string()});
    std::string thrown;
    const std::string printed = run_with(
        *cli,
        [](const std::string&, const json&) -> json {
            throw capf::AdminCallError(0, "no answer from capfd within the timeout");
        },
        thrown);
    CHECK(printed.empty());
    CHECK(read_file(file) == down_text);
    CHECK(thrown ==
          "no answer from capfd within the timeout (wrote capfd_up 0 to " + file.string() + ")");
    CHECK(names_in(dir.path) == std::set<std::string>{"capfd.prom"});

    // Nowhere to write it: both failures are told.
    const auto nowhere =
        parsed({"metrics", "--output", (dir.path / "gone" / "capfd.prom").string()});
    thrown.clear();
    run_with(
        *nowhere,
        [](const std::string&, const json&) -> json { throw capf::AdminCallError(0, "refused"); },
        thrown);
    CHECK_THAT(thrown, Catch::StartsWith("refused; capfd_up 0 not written either: cannot create a "
                                         "temporary file for " +
                                         (dir.path / "gone" / "capfd.prom").string() + ": "));
}

TEST_CASE("ctl metrics: run() on a socket that is not there prints capfd_up 0 and fails",
          "[metrics]") {
    TempDir dir;
    const std::string socket = (dir.path / "nowhere.sock").string();
    {
        const auto cli = parsed({"--socket", socket, "metrics"});
        std::ostringstream out, err;
        CHECK(run(cli->global, cli->command, out, err) == 1);
        CHECK(out.str() == down_text);
        CHECK_THAT(err.str(), Catch::StartsWith("capfctl: cannot connect to " + socket + ": "));
        CHECK_THAT(err.str(), Catch::EndsWith("(printed capfd_up 0)\n"));
        const std::string message = err.str();
        CHECK(std::count(message.begin(), message.end(), '\n') == 1);
    }
    {
        const fs::path file = dir.path / "capfd.prom";
        const auto cli = parsed({"metrics", "--output", file.string(), "--socket", socket});
        std::ostringstream out, err;
        CHECK(run(cli->global, cli->command, out, err) == 1);
        CHECK(out.str().empty());
        CHECK(read_file(file) == down_text);
        CHECK_THAT(err.str(), Catch::EndsWith("(wrote capfd_up 0 to " + file.string() + ")\n"));
    }
    // Other commands still fail as before, with one line.
    const auto summary = parsed({"--socket", socket, "summary"});
    std::ostringstream out, err;
    CHECK(run(summary->global, summary->command, out, err) == 1);
    CHECK(out.str().empty());
    CHECK_THAT(err.str(), Catch::StartsWith("capfctl: cannot connect to " + socket + ": "));
}

TEST_CASE("ctl metrics: asks server.stats once and writes the file, printing nothing",
          "[metrics]") {
    TempDir dir;
    const fs::path file = dir.path / "capfd.prom";
    const auto cli = parsed({"metrics", "--output", file.string()});
    std::vector<std::pair<std::string, json>> calls;
    std::string thrown;
    const std::string printed = run_with(
        *cli,
        [&calls](const std::string& method, const json& params) {
            calls.emplace_back(method, params);
            return full_stats;
        },
        thrown);
    CHECK(thrown.empty());
    CHECK(printed.empty());
    REQUIRE(calls.size() == 1);
    CHECK(calls[0].first == "server.stats");
    CHECK(calls[0].second == json::object());
    CHECK(read_file(file) == prometheus_text(full_stats));

    // Without --output, the same text on standard output.
    const auto to_stdout = parsed({"metrics"});
    CHECK(run_with(
              *to_stdout, [](const std::string&, const json&) { return full_stats; }, thrown) ==
          prometheus_text(full_stats));
    CHECK(thrown.empty());
}

TEST_CASE("ctl metrics: --json is refused, pointing at stats", "[metrics]") {
    CHECK_THROWS_WITH(parsed({"metrics", "--json"}), Catch::Contains("capfctl --json stats"));
    CHECK_THROWS_AS(parsed({"--json", "metrics"}), CLI::ValidationError);
    CHECK(parsed({"metrics"})->command.run != nullptr);
}

}  // namespace ctl_metrics_test_cases
