// call METHOD [PARAMS]: any admin method, parameters as a JSON object.
#include <memory>

#include "capf/ctl/commands.hpp"

namespace capf::ctl {

namespace {

struct CallOptions {
    std::string method;
    std::string params = "{}";
};

json parse_params(const std::string& text) {
    try {
        return json::parse(text);
    } catch (const json::parse_error&) {
        throw CLI::ValidationError("params",
                                   "must be a JSON object, e.g. '{\"name\": \"SEP001122334455\"}'");
    }
}

}  // namespace

void add_call_command(CLI::App& app, Command& out) {
    auto o = std::make_shared<CallOptions>();
    auto* cmd = app.add_subcommand("call", "Call any admin method with JSON parameters");
    cmd->add_option("method", o->method, "Method name, e.g. server.version")->required();
    cmd->add_option("params", o->params, "Parameters as a JSON object")->capture_default_str();
    cmd->callback([o, &out] {
        out = Command{.method = o->method, .params = parse_params(o->params)};
        out.show = [](const json& r, std::ostream& s) { s << r.dump(2) << "\n"; };
    });
}

}  // namespace capf::ctl
