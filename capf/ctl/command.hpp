// One capfctl command as its subcommand parsed it: what to ask capfd and how
// to show the answer. It knows nothing of sockets: run() takes the call to
// make, so tests drive a command against a fake capfd.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

namespace capf::ctl {

using json = nlohmann::json;

/// One admin call: the method's result, or an exception (AdminCallError when
/// capfd refused or cannot be reached).
using Call = std::function<json(const std::string& method, const json& params)>;

struct Command {
    /// The method to call with `params`, unless `run` is set.
    std::string method{};
    json params = json::object();
    /// A command of more than one call (an import in chunks, the anchors of
    /// every role). What it returns is the result: --json prints it, `show`
    /// gets it.
    std::function<json(const Call&)> run{};
    /// The result for a person (--json prints the raw result instead). May
    /// throw (e.g. a file it cannot write). Empty: print nothing.
    std::function<void(const json& result, std::ostream& out)> show{};
};

/// The command's result: its run(), or one call of its method.
json execute(const Command& command, const Call& call);

}  // namespace capf::ctl
