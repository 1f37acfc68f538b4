// The settings table's own pieces that the layers around it (config.cc) use: finding a
// setting, reading a value into a ServerConfig, and spelling one back out of it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "broker/net/config.h"
#include "broker/net/config_file.h"

namespace herald::broker::net {

// The setting named `name` (a flag's name without "--"), or null.
[[nodiscard]] const SettingSpec* find_flag(std::string_view name);
// A scalar setting's value in `c`, as its flag spells it; empty when unset. --help shows it
// for a default configuration, --print-config and the SIGHUP diff for the effective one.
[[nodiscard]] std::string value_of(std::string_view name, const ServerConfig& c);
// A repeatable setting's values.
[[nodiscard]] const std::vector<std::string>& list_of(std::string_view name, const ServerConfig& c);
// Applies one value of a setting. Fails with why, without the setting's name.
[[nodiscard]] common::Status apply(const SettingSpec& flag, std::string_view value,
                                   ServerConfig& config);

}  // namespace herald::broker::net
