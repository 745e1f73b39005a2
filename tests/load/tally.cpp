#include "tests/load/tally.hpp"

#include <botan/hash.h>
#include <botan/hex.h>

#include <nlohmann/json.hpp>

#include "tests/load/measure.hpp"

namespace capf::load {

std::string md5_hex(const std::vector<std::uint8_t>& der) {
    auto md5 = Botan::HashFunction::create_or_throw("MD5");
    md5->update(der.data(), der.size());
    return Botan::hex_encode(md5->final(), false);
}

void Tally::add(const Result& r) {
    auto& k = kinds_[r.plan.kind];
    ++k.sessions;
    ++done_;
    k.latency_ms.push_back(r.latency_ms);
    if (r.ok) {
        ++k.ok;
        ++ok_;
    } else {
        ++k.errors[r.error];
    }
    const auto second = static_cast<std::size_t>(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
    if (per_second_.size() <= second)
        per_second_.resize(second + 1);
    (r.ok ? per_second_[second].first : per_second_[second].second) += 1;
    if (r.stored) {
        const Held held{md5_hex(*r.stored), r.ok && r.end_reason == 1};
        held_[r.plan.device] = held;
        stored_.emplace_back(r.plan.device, held);
        stored_unconfirmed_ += held.confirmed ? 0 : 1;
        if (keep_lscs_)
            lscs_[r.plan.device] = *r.stored;
    } else if (r.plan.kind == Kind::remove && r.ok) {
        held_.erase(r.plan.device);
    }
}

std::size_t Tally::ok_of(Kind kind) const {
    const auto it = kinds_.find(kind);
    return it == kinds_.end() ? 0 : it->second.ok;
}

std::vector<double> Tally::latencies(Kind kind) const {
    const auto it = kinds_.find(kind);
    return it == kinds_.end() ? std::vector<double>{} : it->second.latency_ms;
}

nlohmann::json Tally::kinds_json() const {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [kind, k] : kinds_) {
        const auto round1 = [](double v) { return std::round(v * 10) / 10; };
        out[kind_name(kind)] = {{"sessions", k.sessions},
                                {"ok", k.ok},
                                {"errors", k.errors},
                                {"latency_ms",
                                 {{"p50", round1(percentile(k.latency_ms, 50))},
                                  {"p95", round1(percentile(k.latency_ms, 95))},
                                  {"p99", round1(percentile(k.latency_ms, 99))},
                                  {"max", round1(percentile(k.latency_ms, 100))}}}};
    }
    return out;
}

nlohmann::json Tally::errors_json() const {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [kind, k] : kinds_) {
        for (const auto& [error, count] : k.errors)
            out[std::string(kind_name(kind)) + ":" + error] = count;
    }
    return out;
}

std::vector<nlohmann::json> Tally::timeline() const {
    // The steady clock's start, placed on the wall clock once.
    const auto wall_start = std::chrono::system_clock::now() -
                            std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                std::chrono::steady_clock::now() - start_);
    const double t0 = std::chrono::duration<double>(wall_start.time_since_epoch()).count();
    std::vector<nlohmann::json> out;
    for (std::size_t s = 0; s < per_second_.size(); ++s) {
        out.push_back({{"t", std::round((t0 + static_cast<double>(s)) * 1000) / 1000},
                       {"ok", per_second_[s].first},
                       {"errors", per_second_[s].second}});
    }
    return out;
}

}  // namespace capf::load
