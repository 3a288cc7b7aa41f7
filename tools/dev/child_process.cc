#include "tools/dev/child_process.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <thread>

#include "common/clock.h"

namespace sb::dev {
namespace {

constexpr auto kReapPoll = std::chrono::milliseconds(20);

// Runs in the forked child: only async-signal-safe calls until exec.
[[noreturn]] void ExecChild(pid_t parent, int stdin_fd, int log_fd, char* const argv[]) {
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);  // the parent died before the death signal was armed
  dup2(stdin_fd, STDIN_FILENO);
  dup2(log_fd, STDOUT_FILENO);
  dup2(log_fd, STDERR_FILENO);
  execv("/proc/self/exe", argv);
  static constexpr char kMsg[] = "switchboard dev: exec of /proc/self/exe failed\n";
  [[maybe_unused]] const ssize_t n = write(STDERR_FILENO, kMsg, sizeof(kMsg) - 1);
  _exit(127);
}

}  // namespace

Result<std::unique_ptr<ChildProcess>> ChildProcess::Spawn(std::string name,
                                                          const std::vector<std::string>& args,
                                                          std::string log_path) {
  // argv is built before fork: the child must not allocate.
  std::vector<std::string> words = {"switchboard"};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  argv.reserve(words.size() + 1);
  for (std::string& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);

  const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return Unavailable("open " + log_path + ": " + std::strerror(errno));
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0) {
    close(log_fd);
    return Unavailable(std::string("open /dev/null: ") + std::strerror(errno));
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) ExecChild(parent, null_fd, log_fd, argv.data());
  const int fork_errno = errno;
  close(log_fd);
  close(null_fd);
  if (pid < 0) return Unavailable("fork for " + name + ": " + std::strerror(fork_errno));
  // Also set here: whichever of parent and child runs first, the group exists before a Ctrl-C.
  setpgid(pid, pid);
  return std::unique_ptr<ChildProcess>(new ChildProcess(std::move(name), std::move(log_path), pid));
}

ChildProcess::~ChildProcess() {
  if (reaped_) return;
  kill(pid_, SIGKILL);
  while (waitpid(pid_, &wait_status_, 0) < 0 && errno == EINTR) {
  }
}

bool ChildProcess::Exited() {
  if (reaped_) return true;
  const pid_t r = waitpid(pid_, &wait_status_, WNOHANG);
  reaped_ = r == pid_ || (r < 0 && errno == ECHILD);
  return reaped_;
}

std::string ChildProcess::HowEnded() const {
  if (WIFEXITED(wait_status_))
    return "exited with code " + std::to_string(WEXITSTATUS(wait_status_));
  if (WIFSIGNALED(wait_status_)) {
    const int sig = WTERMSIG(wait_status_);
    return "killed by signal " + std::to_string(sig) + " (" + strsignal(sig) + ")";
  }
  return "ended (wait status " + std::to_string(wait_status_) + ")";
}

bool ChildProcess::ExitedCleanly() const {
  return WIFEXITED(wait_status_) && WEXITSTATUS(wait_status_) == 0;
}

void ChildProcess::Signal(int signo) {
  if (!reaped_) kill(pid_, signo);
}

Status StopAll(const std::vector<ChildProcess*>& children, int timeout_ms) {
  for (ChildProcess* c : children) c->Signal(SIGTERM);
  const int64_t deadline = MonotonicMs() + timeout_ms;
  auto all_exited = [&] {
    bool all = true;
    for (ChildProcess* c : children) all = c->Exited() && all;
    return all;
  };
  while (!all_exited() && MonotonicMs() < deadline) std::this_thread::sleep_for(kReapPoll);
  std::string failed;
  for (ChildProcess* c : children) {
    if (!c->Exited()) {
      std::fprintf(stderr, "switchboard dev: %s did not stop within %d s of SIGTERM; SIGKILL\n",
                   c->name().c_str(), timeout_ms / 1000);
      c->Signal(SIGKILL);
      while (!c->Exited()) std::this_thread::sleep_for(kReapPoll);
    }
    if (!c->ExitedCleanly()) {
      failed += (failed.empty() ? "" : "; ") + c->name() + " " + c->HowEnded() + " (log " +
                c->log_path() + ")";
    }
  }
  if (failed.empty()) return Status::Ok();
  return Internal("stopping: " + failed);
}

}  // namespace sb::dev
