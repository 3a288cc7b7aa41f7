#include "tools/drill/file_sink.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace sb::drill {

Result<std::unique_ptr<FileSink>> FileSink::Open(const std::string& path) {
  std::string text;
  {
    std::ifstream in(path, std::ios::binary);
    if (in) {
      std::ostringstream ss;
      ss << in.rdbuf();
      text = ss.str();
    }
  }
  const size_t keep = text.empty() || text.back() == '\n' ? text.size() : text.rfind('\n') + 1;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return Internal(path + ": cannot open sink log: " + std::strerror(errno));
  if (keep != text.size() && ::ftruncate(fd, static_cast<off_t>(keep)) != 0) {
    ::close(fd);
    return Internal(path + ": cannot cut a torn line: " + std::strerror(errno));
  }
  std::unique_ptr<FileSink> sink(new FileSink(path, fd));
  std::istringstream lines(text.substr(0, keep));
  for (std::string line; std::getline(lines, line);) sink->ids_.insert(line);
  return sink;
}

FileSink::~FileSink() { ::close(fd_); }

Status FileSink::Publish(const pb::Contact& contact) {
  const std::string line = contact.id() + "\n";
  // One write(2) per line: a killed process leaves whole lines only.
  const ssize_t n = ::write(fd_, line.data(), line.size());
  if (n != static_cast<ssize_t>(line.size())) {
    return Internal(path_ + ": sink write failed: " + std::strerror(errno));
  }
  ids_.insert(contact.id());
  return Status::Ok();
}

Result<bool> FileSink::Contains(std::string_view contact_id) {
  return ids_.count(std::string(contact_id)) > 0;
}

}  // namespace sb::drill
