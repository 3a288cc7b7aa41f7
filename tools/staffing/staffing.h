// `switchboard staffing`: Erlang C / Erlang A staffing calculator on the command line.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace sb::staffing {

// argv[0] is the subcommand name. Returns the exit code: 0, or 2 for bad input.
int Main(int argc, char** argv);
// The same with the arguments (without the subcommand name) and the output streams given.
int Run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace sb::staffing
