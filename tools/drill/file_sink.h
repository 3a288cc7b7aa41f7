// An append-only file of published contact ids, one per line: the durable log the follow-up
// crash drill checks. Writes go straight to the kernel (write(2) per batch), which a killed
// process cannot lose; a line torn by a machine crash is dropped when the file is reopened.
#pragma once

#include <string>
#include <string_view>
#include <unordered_set>

#include "router/followup/durable_scheduler.h"

namespace sb::drill {

namespace pb = ::switchboard::v1;

class FileSink final : public followup::Sink {
 public:
  // Opens (creating) `path`, cuts a torn last line, and indexes the ids already written.
  static Result<std::unique_ptr<FileSink>> Open(const std::string& path);
  ~FileSink() override;

  Status Publish(const pb::Contact& contact) override;
  Result<bool> Contains(std::string_view contact_id) override;

 private:
  FileSink(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_;
  std::unordered_set<std::string> ids_;
};

}  // namespace sb::drill
