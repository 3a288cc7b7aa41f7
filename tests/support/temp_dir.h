// TempDir: a directory of a test's own under the system temp dir, removed with everything in it
// when the object goes. For the tests (and test tools) that need real files: RocksDB stores,
// router data dirs, token files, configs and profiles written for one test.
#pragma once

#include <filesystem>
#include <string_view>

namespace sb::testing {

// Owned by the thread that made it; the files inside may be used from any thread.
class TempDir {
 public:
  // Creates <temp dir>/<prefix>XXXXXX with a name no other test has (mkdtemp), so test binaries
  // running at once never share a directory. Throws std::filesystem::filesystem_error when it
  // cannot: GoogleTest reports that as the failure of the test being set up, and a machine
  // without a writable temp dir leaves nothing else worth running.
  explicit TempDir(std::string_view prefix = "sb-test-");
  // Removes the tree. Errors are ignored: a destructor has no one to report them to, and a
  // leftover directory under the temp dir harms no later run (each has a new name).
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // Absolute, and existing until the destructor runs.
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace sb::testing
