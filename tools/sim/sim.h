// `switchboard sim`: the contact-center simulator's command line.
#pragma once

namespace sb::sim {

// argv[0] is the subcommand name. Returns the process exit code: 0, 2 for bad input (flags or
// scenario), 1 when a run failed (a defect: the message says which engine call).
int Main(int argc, char** argv);

}  // namespace sb::sim
