// The CAPF dialogue of one phone session (protocol page, section 5): one
// coroutine that reads top to bottom, from AUTH_REQUEST to END_SESSION.
#pragma once

#include <asio/awaitable.hpp>
#include <chrono>
#include <optional>
#include <string>

#include "capf/blocking_pool.hpp"
#include "capf/dialogue_ports.hpp"

namespace capf {

struct DialogueSettings {
    std::string node;
    std::chrono::milliseconds read_timeout = std::chrono::seconds(60);
    std::chrono::milliseconds keygen_timeout = std::chrono::minutes(30);
    unsigned keygen_retries = 3;
};

/// What happened, for the one log line per session and the tests.
struct SessionOutcome {
    std::string device;  ///< canonical name, or what the phone sent
    Operation operation = Operation::none;
    std::string outcome;                         ///< succeeded, refused, failed, no_action
    std::string cause;                           ///< the specific cause, e.g. "unknown_device"
    std::optional<protocol::Reason> end_reason;  ///< what END_SESSION carried, if sent
};

/// Lifetime: every reference must outlive run().
class Dialogue {
  public:
    Dialogue(DialogueSettings settings, DeviceStore& store, Authority& authority,
             BlockingPool& pool, std::string peer);

    /// Runs the whole dialogue on `channel` with the given session id.
    /// Never throws: every failure ends as an outcome (and, where the phone
    /// can still hear it, an END_SESSION).
    asio::awaitable<SessionOutcome> run(MessageChannel& channel, std::uint32_t session_id);

  private:
    struct Ended;  // thrown inside to finish with a given outcome

    asio::awaitable<void> converse(MessageChannel& channel, std::uint32_t session_id);
    asio::awaitable<void> authenticate(const DeviceForSession& device,
                                       const protocol::Message& auth_response,
                                       std::uint32_t session_id);
    asio::awaitable<void> install(MessageChannel& channel, std::uint32_t session_id);
    asio::awaitable<void> fetch(MessageChannel& channel, std::uint32_t session_id);
    asio::awaitable<void> remove(MessageChannel& channel, std::uint32_t session_id);
    asio::awaitable<void> end_session(MessageChannel& channel, std::uint32_t session_id,
                                      protocol::Reason reason);
    asio::awaitable<protocol::Message> receive(MessageChannel& channel, protocol::Command expected,
                                               Deadline deadline);
    void audit_best_effort(const std::string& event, const std::string& outcome,
                           const std::string& detail);

    DialogueSettings settings_;
    DeviceStore& store_;
    Authority& authority_;
    BlockingPool& pool_;
    std::string peer_;
    SessionOutcome outcome_;
    std::optional<OperationClaim> claim_;
};

}  // namespace capf
