// The process log: one line per event on stderr, through spdlog, with a level and the module
// that wrote it. Text (the default) prints the message alone, as operators and scripts have read
// it so far; JSON prints one object per line for Kubernetes log collectors:
//   {"time":"2026-12-07T09:00:00.123Z","level":"info","module":"shard","msg":"..."}
// The level and format come from SB_LOG_LEVEL (debug|info|warn|error) and SB_LOG_FORMAT
// (text|json) in the environment, or from Configure() (the router's --log-level, --log-format).
#pragma once

#include <string_view>

#include "common/status.h"

namespace sb::log {

enum class Level { kDebug, kInfo, kWarn, kError };
enum class Format { kText, kJson };

Result<Level> ParseLevel(std::string_view name);
Result<Format> ParseFormat(std::string_view name);
// Sets the level below which lines are dropped, and the line format, for every module.
void Configure(Level level, Format format);

// One line, printf-style. Use the SB_LOG_* macros: the compiler checks each format string
// against its arguments.
void Write(Level level, const char* module, const char* format, ...)
    __attribute__((format(printf, 3, 4)));

}  // namespace sb::log

#define SB_LOG_DEBUG(module, ...) ::sb::log::Write(::sb::log::Level::kDebug, module, __VA_ARGS__)
#define SB_LOG_INFO(module, ...) ::sb::log::Write(::sb::log::Level::kInfo, module, __VA_ARGS__)
#define SB_LOG_WARN(module, ...) ::sb::log::Write(::sb::log::Level::kWarn, module, __VA_ARGS__)
#define SB_LOG_ERROR(module, ...) ::sb::log::Write(::sb::log::Level::kError, module, __VA_ARGS__)
