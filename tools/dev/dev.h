// `switchboard dev`: a local cluster (the embedded broker and router nodes as child processes)
// with simulated agents and customers through Kafka, and a live status line per second.
// Returns the process exit code.
#pragma once

namespace sb::dev {

int Main(int argc, char** argv);

}  // namespace sb::dev
