#include "capf/tftp/exec_encryptor.hpp"

#include <botan/pem.h>
#include <string.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>

#include "capf/tftp/exec_runner.hpp"

namespace capf::tftp {

namespace {

/// How much of a failed program's output goes into the error message.
constexpr std::size_t message_output_lines = 3;
constexpr std::size_t message_output_chars = 300;

nlohmann::json pem_or_null(const std::optional<storage::Bytes>& der, const char* label) {
    if (!der) {
        return nullptr;
    }
    return Botan::PEM_Code::encode(der->data(), der->size(), label);
}

/// "30s", "0.3s", "1.25s": the configured timeout as a person wrote it.
std::string seconds_text(std::chrono::milliseconds timeout) {
    std::string text = std::to_string(timeout.count() / 1000);
    if (const auto millis = timeout.count() % 1000; millis != 0) {
        std::string fraction = std::to_string(1000 + millis).substr(1);
        fraction.erase(fraction.find_last_not_of('0') + 1);
        text += "." + fraction;
    }
    return text + "s";
}

/// The first lines of the program's output, on one line, printable only.
std::string output_summary(const std::string& output) {
    std::string summary;
    std::size_t lines = 0;
    for (const char c : output) {
        if (summary.size() >= message_output_chars) {
            summary += "...";
            break;
        }
        if (c == '\n') {
            if (++lines == message_output_lines) {
                break;
            }
            summary += " | ";
        } else {
            const auto byte = static_cast<unsigned char>(c);
            summary += (byte >= 0x20 && byte != 0x7f) ? c : '?';
        }
    }
    while (summary.ends_with(" | ")) {
        summary.resize(summary.size() - 3);
    }
    return summary.empty() ? std::string("(no output)") : "output: " + summary;
}

std::string failure_text(const ProgramResult& result, std::chrono::milliseconds timeout) {
    if (result.timed_out) {
        return "timed out after " + seconds_text(timeout) + " and was killed";
    }
    if (result.signal != 0) {
        const char* description = ::sigdescr_np(result.signal);
        return "was killed by signal " + std::to_string(result.signal) +
               (description != nullptr ? std::string(" (") + description + ")" : std::string());
    }
    return "exited with status " + std::to_string(result.exit_code);
}

}  // namespace

std::string exec_facts_json(const DeviceFacts& facts, DeliveryChange change) {
    // "withdrawn": whatever the program keeps for the device must go (the
    // LSC was revoked, or the device removed); "reason" says which.
    const auto withdrawn = withdrawal_reason(facts, change);
    const nlohmann::json document = {
        {"device", facts.name},
        {"event", withdrawn ? "withdrawn" : "changed"},
        {"reason", withdrawn ? nlohmann::json(std::string(*withdrawn)) : nlohmann::json(nullptr)},
        {"change", std::string(storage::to_text(change))},
        {"md5", facts.md5_hex},
        {"key_spec", facts.key_spec},
        {"certificate_pem", pem_or_null(facts.certificate_der, "CERTIFICATE")},
        {"public_key_pem", pem_or_null(facts.public_key_der, "PUBLIC KEY")},
    };
    return document.dump() + "\n";
}

ExecEncryptor::ExecEncryptor(ExecEncryptorConfig config) : config_(std::move(config)) {
    if (config_.argv.empty() || config_.argv.front().empty()) {
        throw EncryptorError("exec encryptor: no program configured (argv is empty)");
    }
}

void ExecEncryptor::deliver(const DeviceFacts& facts, DeliveryChange change,
                            const LeaseGuard& lease) {
    lease.require(config_.timeout + program_termination_grace,
                  "running " + config_.argv.front() + " for " + facts.name);
    ProgramRun run;
    run.argv = config_.argv;
    run.stdin_data = exec_facts_json(facts, change);
    run.timeout = config_.timeout;
    const ProgramResult result = run_program(run);
    if (!result.timed_out && result.signal == 0 && result.exit_code == 0) {
        return;
    }
    throw EncryptorError("exec encryptor: program '" + config_.argv.front() + "' for device " +
                         facts.name + " (" + std::string(storage::to_text(change)) + ") " +
                         failure_text(result, config_.timeout) + "; " +
                         output_summary(result.output_excerpt));
}

}  // namespace capf::tftp
