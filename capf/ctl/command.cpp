#include "capf/ctl/command.hpp"

#include <memory>

#include "capf/ctl/commands.hpp"

namespace capf::ctl {

json execute(const Command& command, const Call& call) {
    return command.run ? command.run(call) : call(command.method, command.params);
}

void add_one_device_command(CLI::App& parent, const std::string& verb, const std::string& summary,
                            const std::string& method, const std::string& done, Command& out) {
    auto name = std::make_shared<std::string>();
    auto* cmd = parent.add_subcommand(verb, summary);
    cmd->add_option("name", *name, "Device name")->required();
    cmd->callback([name, method, done, &out] {
        out = Command{.method = method, .params = {{"name", *name}}};
        out.show = [done, name = *name](const json&, std::ostream& s) {
            s << done << " " << name << "\n";
        };
    });
}

}  // namespace capf::ctl
