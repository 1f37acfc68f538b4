// The shape of the one settings table (defined in config.cc) and the TOML reader that checks a
// config file against it (config_file.cc, the only code that includes toml++). Internal to
// broker/net: main.cc and the tests use config.h.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/common/status.h"

namespace herald::broker::net {

struct SettingSpec {
  std::string_view name;  // the flag without "--", the TOML key, HERALD_<NAME> upper-cased
  enum class Kind : uint8_t { kSwitch, kNumber, kText, kList } kind;
  uint64_t min = 0;
  uint64_t max = 0;
  // kAll: flag, variable and key; kNotFile: --config and HERALD_CONFIG; kCommandLine: a flag.
  enum class Scope : uint8_t { kAll, kNotFile, kCommandLine } scope = Scope::kAll;
  bool reloadable = false;  // SIGHUP applies a new value without a restart
  std::string_view unset;   // shown as the default when the setting has no value of its own
  std::string_view help;
};

// Every setting, in --help order.
[[nodiscard]] std::span<const SettingSpec> setting_table();

// One key of a config file with its value as the flag would spell it (numbers in decimal,
// switches "true"/"false"; a list has one string per element) and its 1-based line.
struct FileSetting {
  const SettingSpec* spec = nullptr;
  std::vector<std::string> values;
  uint32_t line = 0;
};

// Parses TOML text and checks each key against the table: unknown keys, wrong types and
// negative numbers fail with "PATH:LINE: KEY: why" (a syntax error with "PATH:LINE:COL: why").
// Ranges and enums are checked later, by the same code as the flags.
[[nodiscard]] common::Result<std::vector<FileSetting>> parse_config_file(std::string_view text,
                                                                         std::string_view path);

}  // namespace herald::broker::net
