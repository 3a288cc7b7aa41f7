#include "common/log/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/text.h"

namespace sb::log {
namespace {

constexpr char kJsonPattern[] =
    R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","module":"%n","msg":%v})";

spdlog::level::level_enum ToSpdlog(Level level) {
  switch (level) {
    case Level::kDebug:
      return spdlog::level::debug;
    case Level::kInfo:
      return spdlog::level::info;
    case Level::kWarn:
      return spdlog::level::warn;
    case Level::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

// The loggers of every module, on one stderr sink, under one level and format.
class Registry {
 public:
  Registry() : sink_(std::make_shared<spdlog::sinks::stderr_sink_mt>()) {
    // The environment's settings; a bad value is said once and the default kept.
    if (const char* v = std::getenv("SB_LOG_LEVEL"); v != nullptr && *v != '\0') {
      auto level = ParseLevel(v);
      if (level.ok())
        level_ = *level;
      else
        std::fputs(("SB_LOG_LEVEL: " + level.status().message() + "\n").c_str(), stderr);
    }
    if (const char* v = std::getenv("SB_LOG_FORMAT"); v != nullptr && *v != '\0') {
      auto format = ParseFormat(v);
      if (format.ok())
        format_ = *format;
      else
        std::fputs(("SB_LOG_FORMAT: " + format.status().message() + "\n").c_str(), stderr);
    }
  }

  void Configure(Level level, Format format) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    level_ = level;
    format_ = format;
    for (auto& [name, logger] : loggers_) Apply(*logger);
  }

  bool Enabled(Level level) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return level >= level_;
  }

  Format format() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return format_;
  }

  std::shared_ptr<spdlog::logger> Get(const char* module) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    auto it = loggers_.find(module);
    if (it != loggers_.end()) return it->second;
    auto logger = std::make_shared<spdlog::logger>(module, sink_);
    Apply(*logger);
    loggers_.emplace(module, logger);
    return logger;
  }

 private:
  void Apply(spdlog::logger& logger) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    logger.set_level(ToSpdlog(level_));
    logger.flush_on(spdlog::level::trace);  // every line reaches stderr at once
    if (format_ == Format::kJson) {
      logger.set_pattern(kJsonPattern, spdlog::pattern_time_type::utc);
    } else {
      logger.set_pattern("%v");
    }
  }

  absl::Mutex mu_;
  const std::shared_ptr<spdlog::sinks::stderr_sink_mt> sink_;  // thread-safe itself
  Level level_ ABSL_GUARDED_BY(mu_) = Level::kInfo;
  Format format_ ABSL_GUARDED_BY(mu_) = Format::kText;
  std::map<std::string, std::shared_ptr<spdlog::logger>, std::less<>> loggers_ ABSL_GUARDED_BY(mu_);
};

Registry& TheRegistry() {
  static Registry* registry = new Registry();  // never destroyed: threads log until exit
  return *registry;
}

}  // namespace

Result<Level> ParseLevel(std::string_view name) {
  if (name == "debug") return Level::kDebug;
  if (name == "info") return Level::kInfo;
  if (name == "warn") return Level::kWarn;
  if (name == "error") return Level::kError;
  return InvalidArgument("log level " + Quote(name) + ": expected debug, info, warn or error");
}

Result<Format> ParseFormat(std::string_view name) {
  if (name == "text") return Format::kText;
  if (name == "json") return Format::kJson;
  return InvalidArgument("log format " + Quote(name) + ": expected text or json");
}

void Configure(Level level, Format format) { TheRegistry().Configure(level, format); }

void Write(Level level, const char* module, const char* format, ...) {
  Registry& registry = TheRegistry();
  if (!registry.Enabled(level)) return;
  va_list args;
  va_start(args, format);
  va_list copy;
  va_copy(copy, args);
  const int n = std::vsnprintf(nullptr, 0, format, copy);
  va_end(copy);
  std::string message(n > 0 ? static_cast<size_t>(n) : 0, '\0');
  if (n > 0) std::vsnprintf(message.data(), message.size() + 1, format, args);
  va_end(args);
  while (!message.empty() && message.back() == '\n') message.pop_back();  // one line per call
  if (registry.format() == Format::kJson) {
    std::string quoted;
    AppendJsonString(message, &quoted);
    message = std::move(quoted);
  }
  registry.Get(module)->log(ToSpdlog(level), "{}", message);
}

}  // namespace sb::log
