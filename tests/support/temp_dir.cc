#include "support/temp_dir.h"

#include <cerrno>
#include <cstdlib>
#include <string>
#include <system_error>

namespace sb::testing {

TempDir::TempDir(std::string_view prefix) {
  std::string tmpl = (std::filesystem::temp_directory_path() / prefix).string() + "XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) {
    throw std::filesystem::filesystem_error("cannot create a temp dir", tmpl,
                                            std::error_code(errno, std::generic_category()));
  }
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace sb::testing
