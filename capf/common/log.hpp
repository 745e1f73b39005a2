// Structured log lines (logfmt) on stderr, one event per line:
//   ts=2026-11-24T19:33:00.123Z level=info event=session_end device=SEP001122334455 ...
// Under systemd (JOURNAL_STREAM set) lines carry a <N> priority prefix
// instead of a timestamp, which journald turns into the entry's priority.
//
// Never pass secrets (auth strings, passphrases, private keys) as fields.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>

namespace capf::log {

enum class Level { trace, debug, info, warn, error };

/// One key=value pair. Values are rendered as text and quoted when needed.
struct Field {
    std::string_view key;
    std::string value;

    Field(std::string_view k, std::string_view v) : key(k), value(v) {}
    Field(std::string_view k, const std::string& v) : key(k), value(v) {}
    Field(std::string_view k, const char* v) : key(k), value(v) {}
    template <typename T>
    requires std::is_arithmetic_v<T> Field(std::string_view k, T v) : key(k), value(render(v)) {}

  private:
    template <typename T>
    static std::string render(T v) {
        if constexpr (std::is_same_v<T, bool>) {
            return v ? "true" : "false";
        } else {
            return std::to_string(v);
        }
    }
};

void set_level(Level level) noexcept;
Level level() noexcept;
bool enabled(Level level) noexcept;
std::string_view level_name(Level level) noexcept;

/// Replaces where lines go (stderr by default); tests capture them this way.
/// Pass an empty function to restore stderr.
void set_sink(std::function<void(std::string_view line)> sink);

/// Formats one line (without newline), quoting values that need it.
std::string format_line(Level level, std::string_view event, std::initializer_list<Field> fields,
                        bool with_timestamp);

void write(Level level, std::string_view event, std::initializer_list<Field> fields);

inline void debug(std::string_view event, std::initializer_list<Field> fields = {}) {
    if (enabled(Level::debug))
        write(Level::debug, event, fields);
}
inline void info(std::string_view event, std::initializer_list<Field> fields = {}) {
    if (enabled(Level::info))
        write(Level::info, event, fields);
}
inline void warn(std::string_view event, std::initializer_list<Field> fields = {}) {
    if (enabled(Level::warn))
        write(Level::warn, event, fields);
}
inline void error(std::string_view event, std::initializer_list<Field> fields = {}) {
    if (enabled(Level::error))
        write(Level::error, event, fields);
}

}  // namespace capf::log
