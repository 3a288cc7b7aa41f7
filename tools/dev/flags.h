// The flags of `switchboard dev`.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace sb::dev {

struct Options {
  int routers = 2;
  int partitions = 12;
  uint32_t agents = 60;
  double rate_per_s = 3;  // new contacts per second, evenly spaced
  int think_ms = 1000, handle_ms = 5000, wrap_ms = 1000;
  double patience_s = 30;
  double duration_s = 0;  // 0: until Ctrl-C / SIGTERM
  uint64_t seed = 1;
  std::string config_path;  // empty: the built-in demo config
  std::string data_dir;     // empty: a fresh temporary directory
  bool keep_data = false;
  bool help = false;
};

// Parses argv (argv[0] is the subcommand name); "--flag value" and "--flag=value" both work.
// Fails with InvalidArgument naming the flag. With --help, prints the usage on stdout.
Status ParseFlags(int argc, char** argv, Options* options);

}  // namespace sb::dev
