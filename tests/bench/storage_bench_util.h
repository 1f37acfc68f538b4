// Shared by the storage benchmarks: a scratch data directory under /tmp and the writer set up
// for one rule. Benchmarks only; not part of any library.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include "storage/storage_writer.h"

namespace herald::storage::bench {

class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = "/tmp/herald-storage-bench-XXXXXX";
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::unique_ptr<StorageWriter> open_writer(const std::string& dir, const std::string& rule) {
  StorageConfig config;
  config.data_dir = dir;
  auto rules = HistoryRules::parse({rule});
  if (!rules.status.is_ok()) throw std::runtime_error(rules.status.message());
  config.rules = std::move(rules.value);
  auto opened = StorageWriter::open(std::move(config));
  if (!opened.status.is_ok()) throw std::runtime_error(opened.status.message());
  return std::move(opened.value);
}

// Bytes in the files under `dir` (what du counts, ignoring block rounding).
inline uint64_t bytes_under(const std::string& dir) {
  uint64_t bytes = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) bytes += entry.file_size();
  }
  return bytes;
}

}  // namespace herald::storage::bench
