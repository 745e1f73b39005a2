#include "capf/ctl/command.hpp"

namespace capf::ctl {

json execute(const Command& command, const Call& call) {
    return command.run ? command.run(call) : call(command.method, command.params);
}

}  // namespace capf::ctl
