// ReadAll / WriteAll: a whole file in or out, bytes as they are. For tests that write the inputs
// of the code under test (token files, configs, damaged store files) or read what it wrote (a
// token, a certificate, every file of a store). A file that cannot be read or written fails the
// current test, naming the path, so a call needs no check of its own.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace sb::testing {

// The file's bytes; "" (and a test failure) when it cannot be read.
std::string ReadAll(const std::filesystem::path& path);

// Replaces the file's content with `bytes`, creating the file if needed (not its directory).
void WriteAll(const std::filesystem::path& path, std::string_view bytes);

}  // namespace sb::testing
