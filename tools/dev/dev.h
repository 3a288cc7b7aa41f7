// `switchboard dev`: runs the routing engine with simulated agents and traffic in one process and
// prints a live status line per second. Returns the process exit code.
#pragma once

namespace sb::dev {

int Main(int argc, char** argv);

}  // namespace sb::dev
