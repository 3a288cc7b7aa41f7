// A child process running this same binary (/proc/self/exe) with a subcommand, its output in a
// log file. Owned by the thread that spawned it (PR_SET_PDEATHSIG is tied to that thread).
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace sb::dev {

class ChildProcess {
 public:
  // Starts `/proc/self/exe args...` with stdin from /dev/null and stdout and stderr appended to
  // `log_path`. The child gets its own process group, so a terminal's Ctrl-C reaches only the dev
  // process, which stops the children in order; the kernel SIGKILLs it if the spawning thread
  // dies first. Fails with Unavailable (naming the log or the fork) when it cannot be started.
  static Result<std::unique_ptr<ChildProcess>> Spawn(std::string name,
                                                     const std::vector<std::string>& args,
                                                     std::string log_path);
  // A child still running is SIGKILLed and reaped: none outlives its owner, even on errors.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Reaps the child if it has exited (never blocks); true once it has.
  bool Exited();
  // REQUIRES: Exited(). E.g. "exited with code 3", "killed by signal 9 (Killed)".
  std::string HowEnded() const;
  // REQUIRES: Exited().
  bool ExitedCleanly() const;
  // Sends `signo` unless the child was already reaped.
  void Signal(int signo);

  const std::string& name() const { return name_; }
  const std::string& log_path() const { return log_path_; }
  pid_t pid() const { return pid_; }

 private:
  ChildProcess(std::string name, std::string log_path, pid_t pid)
      : name_(std::move(name)), log_path_(std::move(log_path)), pid_(pid) {}

  const std::string name_;
  const std::string log_path_;
  const pid_t pid_;
  bool reaped_ = false;
  int wait_status_ = 0;
};

// Sends SIGTERM to every child still running and waits up to `timeout_ms` for all of them; the
// ones still running then are SIGKILLed, each with a message on stderr. Returns a failure naming
// every child that did not exit with code 0 (and its log).
Status StopAll(const std::vector<ChildProcess*>& children, int timeout_ms);

}  // namespace sb::dev
