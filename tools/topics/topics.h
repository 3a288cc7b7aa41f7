// `switchboard topics`: checks the Switchboard topics of a Kafka cluster and creates the missing
// ones with the settings the router needs (the same code the router runs at start), so operators
// who pre-create topics, or whose routers may not create them, see what is expected.
#pragma once

namespace sb::topics {

// argv[0] is the subcommand name. Exit codes: 0 every topic exists with the required partition
// count and cleanup policy (the table is printed on stdout), 1 a topic is missing or refused (the
// message names the topic and the setting), or Kafka did not answer, 2 bad flags.
int Main(int argc, char** argv);

}  // namespace sb::topics
