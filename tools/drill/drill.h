// `switchboard followup-drill`: the follow-up crash drill. A process that creates follow-up
// tasks due over the next seconds while firing them through a durable sink log, meant to be
// killed with SIGKILL at random moments and restarted on the same data dir; `--verify` then
// checks the sink log and the store: every attempt published exactly once, every task ended.
#pragma once

namespace sb::drill {

// argv[0] is the subcommand name. Exit codes: 0 done (or verified), 1 verification failed or a
// run error, 2 bad flags or an unusable data dir (the message names the path).
int Main(int argc, char** argv);

}  // namespace sb::drill
