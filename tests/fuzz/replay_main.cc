// Replays fuzz inputs (files, or every file in directories) through
// LLVMFuzzerTestOneInput, for builds without libFuzzer. Fails when it finds no
// input at all, so an empty corpus is noticed.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size);

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  int runs = 0;
  auto run = [&](const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::vector<std::uint8_t> data((std::istreambuf_iterator<char>(f)), {});
    LLVMFuzzerTestOneInput(data.data(), data.size());
    ++runs;
  };
  for (int i = 1; i < argc; ++i) {
    fs::path p(argv[i]);
    if (fs::is_directory(p)) {
      for (const auto& e : fs::directory_iterator(p)) {
        if (e.is_regular_file()) run(e.path());
      }
    } else if (fs::is_regular_file(p)) {
      run(p);
    }
  }
  std::printf("replayed %d inputs\n", runs);
  return runs > 0 ? 0 : 1;
}
