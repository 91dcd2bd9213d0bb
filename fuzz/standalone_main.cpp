// Runs a fuzz target without libFuzzer (g++ builds, and `make test`): every file of the
// given corpus directories, then a fixed number of deterministic mutations of them
// (bit flips, truncations, splices, repetition). Crashes found by libFuzzer
// (`make fuzz`) are added to the corpus as regression files.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  std::vector<std::string> corpus;
  for (int i = 1; i < argc; ++i) {
    std::filesystem::path p(argv[i]);
    if (std::filesystem::is_directory(p)) {
      for (const auto& e : std::filesystem::directory_iterator(p)) {
        std::ifstream f(e.path(), std::ios::binary);
        corpus.emplace_back(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
      }
    }
  }
  if (corpus.empty()) corpus.emplace_back("");
  for (const auto& c : corpus) LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(c.data()), c.size());
  std::mt19937 rng(12345);
  const int kMutations = 20000;
  for (int i = 0; i < kMutations; ++i) {
    std::string s = corpus[rng() % corpus.size()];
    switch (rng() % 5) {
      case 0:
        if (!s.empty()) s[rng() % s.size()] ^= char(1u << (rng() % 8));
        break;
      case 1:
        if (!s.empty()) s.resize(rng() % s.size());
        break;
      case 2: {
        const std::string& o = corpus[rng() % corpus.size()];
        if (!o.empty()) s.insert(s.empty() ? 0 : rng() % s.size(), o.substr(rng() % o.size()));
        break;
      }
      case 3:
        if (!s.empty() && s.size() < 4096) {
          std::size_t at = rng() % s.size();
          s.insert(at, s.substr(at, 1 + rng() % 16));
        }
        break;
      default:
        s.push_back(char(rng() % 256));
    }
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  }
  std::printf("ran %zu corpus inputs and %d mutations\n", corpus.size(), kMutations);
  return 0;
}
