#include "capf/common/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>

namespace capf::log {
namespace {

std::atomic<Level> current_level{Level::info};
std::mutex sink_mutex;
std::function<void(std::string_view)> custom_sink;

bool journald() {
    static const bool under_journald = std::getenv("JOURNAL_STREAM") != nullptr;
    return under_journald;
}

/// sd-daemon(3) priorities.
int syslog_priority(Level level) {
    switch (level) {
        case Level::trace:
        case Level::debug:
            return 7;
        case Level::info:
            return 6;
        case Level::warn:
            return 4;
        case Level::error:
            return 3;
    }
    return 6;
}

bool needs_quotes(std::string_view v) {
    if (v.empty())
        return true;
    for (char ch : v) {
        const auto c = static_cast<unsigned char>(ch);
        if (c <= 0x20 || c == '"' || c == '=' || c == '\\' || c == 0x7F)
            return true;
    }
    return false;
}

void append_value(std::string& out, std::string_view v) {
    if (!needs_quotes(v)) {
        out += v;
        return;
    }
    out += '"';
    for (char ch : v) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20 || c == 0x7F) {
            // Keep one event on one line whatever a peer sent us.
            static const char* hex = "0123456789abcdef";
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 0xF];
        } else {
            out += static_cast<char>(c);
        }
    }
    out += '"';
}

std::string timestamp() {
    const auto now = std::chrono::system_clock::now();
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[96];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms.count()));
    return buf;
}

}  // namespace

void set_level(Level level) noexcept {
    current_level.store(level);
}
Level level() noexcept {
    return current_level.load();
}
bool enabled(Level level) noexcept {
    return level >= current_level.load();
}

std::string_view level_name(Level level) noexcept {
    switch (level) {
        case Level::trace:
            return "trace";
        case Level::debug:
            return "debug";
        case Level::info:
            return "info";
        case Level::warn:
            return "warn";
        case Level::error:
            return "error";
    }
    return "info";
}

void set_sink(std::function<void(std::string_view)> sink) {
    std::lock_guard lock(sink_mutex);
    custom_sink = std::move(sink);
}

std::string format_line(Level level, std::string_view event, std::initializer_list<Field> fields,
                        bool with_timestamp) {
    std::string out;
    out.reserve(128);
    if (with_timestamp) {
        out += "ts=";
        out += timestamp();
        out += ' ';
    }
    out += "level=";
    out += level_name(level);
    out += " event=";
    append_value(out, event);
    for (const Field& f : fields) {
        out += ' ';
        out += f.key;
        out += '=';
        append_value(out, f.value);
    }
    return out;
}

void write(Level level, std::string_view event, std::initializer_list<Field> fields) {
    std::string line = format_line(level, event, fields, !journald());
    std::lock_guard lock(sink_mutex);
    if (custom_sink) {
        custom_sink(line);
        return;
    }
    if (journald()) {
        line = "<" + std::to_string(syslog_priority(level)) + ">" + line;
    }
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace capf::log
