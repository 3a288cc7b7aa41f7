// Driver for fuzz targets built without libFuzzer: replays every file of a corpus directory, then
// a bounded number of deterministic mutations of it, so ctest exercises each parser with bad input
// on every build. The same seed and the sorted file order make a failure reproduce exactly.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

constexpr int kMutations = 20'000;
constexpr int kMaxEditsPerMutation = 4;
// Inputs never grow past this, so the run stays bounded whatever the corpus holds.
constexpr size_t kMaxInputBytes = 64 * 1024;
constexpr std::mt19937::result_type kSeed = 20261122;

void Run(const std::string& input) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
}

std::string Mutate(const std::vector<std::string>& corpus, std::mt19937& rng) {
  std::string s = corpus[rng() % corpus.size()];
  const int edits = 1 + static_cast<int>(rng() % kMaxEditsPerMutation);
  for (int i = 0; i < edits; ++i) {
    const size_t at = s.empty() ? 0 : rng() % s.size();
    switch (rng() % 5) {
      case 0:  // flip one bit
        if (!s.empty()) s[at] = static_cast<char>(s[at] ^ (1 << (rng() % 8)));
        break;
      case 1:  // insert a byte
        s.insert(at, 1, static_cast<char>(rng() % 256));
        break;
      case 2:  // delete a few bytes
        if (!s.empty()) s.erase(at, 1 + rng() % 8);
        break;
      case 3: {  // splice: the head of this input, the tail of another
        const std::string& other = corpus[rng() % corpus.size()];
        const size_t from = other.empty() ? 0 : rng() % other.size();
        s = s.substr(0, at) + other.substr(from);
        break;
      }
      default:  // truncate
        s.resize(at);
        break;
    }
    if (s.size() > kMaxInputBytes) s.resize(kMaxInputBytes);
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argc > 0 ? argv[0] : "replay");
    return 1;
  }
  const std::filesystem::path dir = argv[1];
  std::error_code ec;
  std::vector<std::filesystem::path> paths;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec)) paths.push_back(it->path());
  }
  if (ec) {
    std::fprintf(stderr, "%s: cannot read corpus directory %s: %s\n", argv[0], argv[1],
                 ec.message().c_str());
    return 1;
  }
  // Directory order differs between file systems; sorting keeps the mutations reproducible.
  std::sort(paths.begin(), paths.end());
  std::vector<std::string> corpus;
  for (const auto& path : paths) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "%s: cannot read %s\n", argv[0], path.c_str());
      return 1;
    }
    corpus.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  if (corpus.empty()) {
    std::fprintf(stderr, "%s: no corpus files in %s\n", argv[0], argv[1]);
    return 1;
  }
  size_t runs = 0;
  for (const auto& input : corpus) {
    Run(input);
    ++runs;
  }
  std::mt19937 rng(kSeed);
  for (int i = 0; i < kMutations; ++i) {
    Run(Mutate(corpus, rng));
    ++runs;
  }
  std::printf("replayed %zu inputs (%zu corpus files, %d mutations)\n", runs, corpus.size(),
              kMutations);
  return 0;
}
