// What capf-load counts while sessions finish: per kind, outcomes, errors
// and latencies; a per-second timeline; the certificate each phone holds.
#pragma once

#include <chrono>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "tests/load/phone_session.hpp"

namespace capf::load {

/// The certificate a device's phone holds after the run, and whether the
/// session that gave it ended with END_SESSION 1 (confirmed).
struct Held {
    std::string md5;  ///< lowercase hex of the DER
    bool confirmed = false;
};

class Tally {
  public:
    /// `keep_lscs`: keep the DER of each stored LSC too (lscs()).
    explicit Tally(std::chrono::steady_clock::time_point start, bool keep_lscs = false)
        : start_(start), keep_lscs_(keep_lscs) {}

    void add(const Result& r);

    std::size_t done() const noexcept { return done_; }
    std::size_t ok() const noexcept { return ok_; }
    std::size_t errors() const noexcept { return done_ - ok_; }
    std::size_t ok_of(Kind kind) const;

    /// {"install": {"sessions", "ok", "errors": {...}, "latency_ms": {...}}, ...}
    nlohmann::json kinds_json() const;
    /// {"install:closed": 3, ...}: every error, by kind.
    nlohmann::json errors_json() const;
    /// One object per second since the start: {"t": unix seconds, "ok", "errors"}.
    std::vector<nlohmann::json> timeline() const;
    const std::map<std::string, Held>& held() const noexcept { return held_; }
    /// Every certificate a phone stored, in the order stored: device and what
    /// came of the session (confirmed: END_SESSION 1 followed).
    const std::vector<std::pair<std::string, Held>>& stored() const noexcept { return stored_; }
    /// Sessions in which the phone stored a certificate and then did not hear
    /// END_SESSION 1 (cut off: capfd died, the database went away).
    std::size_t stored_unconfirmed() const noexcept { return stored_unconfirmed_; }
    const std::map<std::string, std::vector<std::uint8_t>>& lscs() const noexcept { return lscs_; }
    /// Latencies of the sessions of `kind`, in milliseconds.
    std::vector<double> latencies(Kind kind) const;

  private:
    struct PerKind {
        std::size_t sessions = 0, ok = 0;
        std::map<std::string, std::size_t> errors;
        std::vector<double> latency_ms;
    };
    std::chrono::steady_clock::time_point start_;
    std::map<Kind, PerKind> kinds_;
    std::vector<std::pair<std::size_t, std::size_t>> per_second_;  // ok, errors
    std::map<std::string, Held> held_;
    std::vector<std::pair<std::string, Held>> stored_;
    std::size_t stored_unconfirmed_ = 0;
    bool keep_lscs_ = false;
    std::map<std::string, std::vector<std::uint8_t>> lscs_;
    std::size_t done_ = 0, ok_ = 0;
};

/// MD5 of `der` as 32 lowercase hex digits (the certHash capfd stores).
std::string md5_hex(const std::vector<std::uint8_t>& der);

}  // namespace capf::load
