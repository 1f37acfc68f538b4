// Reading a TOML config file with toml++ and checking its keys and types against the settings
// table. Values go on as strings, so ranges and enums are checked by the flags' own code.
#include "broker/net/config_file.h"

#include <toml++/toml.h>

#include <algorithm>
#include <optional>
#include <utility>

namespace herald::broker::net {

namespace {

const SettingSpec* find_key(std::string_view key) {
  for (const SettingSpec& spec : setting_table()) {
    if (spec.name == key && spec.scope == SettingSpec::Scope::kAll) return &spec;
  }
  return nullptr;
}

std::string_view type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    default:
      return "a date or time";
  }
}

// The node as the flag would spell it, or nothing when its type is not the setting's.
std::optional<std::string> scalar_text(const toml::node& node, SettingSpec::Kind kind) {
  switch (kind) {
    case SettingSpec::Kind::kSwitch:
      if (auto value = node.value_exact<bool>()) return *value ? "true" : "false";
      return std::nullopt;
    case SettingSpec::Kind::kNumber:
      if (auto value = node.value_exact<int64_t>()) {
        // A negative number is out of every range: let the range check say so, in decimal.
        return std::to_string(*value);
      }
      return std::nullopt;
    case SettingSpec::Kind::kText:
    case SettingSpec::Kind::kList:
      if (auto value = node.value_exact<std::string>()) return *value;
      return std::nullopt;
  }
  return std::nullopt;
}

std::string_view expected(SettingSpec::Kind kind) {
  switch (kind) {
    case SettingSpec::Kind::kSwitch:
      return "a boolean (true or false)";
    case SettingSpec::Kind::kNumber:
      return "an integer";
    case SettingSpec::Kind::kText:
      return "a string";
    case SettingSpec::Kind::kList:
      return "an array of strings";
  }
  return "";
}

common::Status refuse(std::string_view path, uint32_t line, std::string_view key,
                      std::string_view why) {
  return common::Status::invalid_argument(std::string(path) + ":" + std::to_string(line) + ": " +
                                          std::string(key) + ": " + std::string(why));
}

// One key's value checked against its setting. Fails with "PATH:LINE: KEY: why".
common::Result<FileSetting> read_key(const SettingSpec& spec, const toml::node& node,
                                     std::string_view path) {
  FileSetting setting{&spec, {}, static_cast<uint32_t>(node.source().begin.line)};
  auto wrong_type = [&](const toml::node& bad) {
    return common::Result<FileSetting>{
        refuse(path, static_cast<uint32_t>(bad.source().begin.line), spec.name,
               "expected " + std::string(expected(spec.kind)) + ", got " +
                   std::string(type_name(bad))),
        {}};
  };
  if (spec.kind != SettingSpec::Kind::kList) {
    std::optional<std::string> text = scalar_text(node, spec.kind);
    if (!text) return wrong_type(node);
    setting.values.push_back(std::move(*text));
    return {common::Status::ok(), std::move(setting)};
  }
  const toml::array* array = node.as_array();
  if (array == nullptr) return wrong_type(node);
  for (const toml::node& element : *array) {
    std::optional<std::string> text = scalar_text(element, spec.kind);
    if (!text) return wrong_type(element);
    setting.values.push_back(std::move(*text));
  }
  return {common::Status::ok(), std::move(setting)};
}

}  // namespace

common::Result<std::vector<FileSetting>> parse_config_file(std::string_view text,
                                                           std::string_view path) {
  toml::table table;
  try {
    table = toml::parse(text, path);
  } catch (const toml::parse_error& error) {
    const toml::source_position where = error.source().begin;
    return {common::Status::invalid_argument(std::string(path) + ":" + std::to_string(where.line) +
                                             ":" + std::to_string(where.column) + ": " +
                                             std::string(error.description())),
            {}};
  }
  std::vector<FileSetting> settings;
  for (const auto& [key, node] : table) {
    const SettingSpec* spec = find_key(key.str());
    if (spec == nullptr) {
      return {refuse(path, static_cast<uint32_t>(key.source().begin.line), key.str(),
                     "unknown key (the keys are the flags of herald --help, without --)"),
              {}};
    }
    common::Result<FileSetting> setting = read_key(*spec, node, path);
    if (!setting.status.is_ok()) return {std::move(setting.status), {}};
    settings.push_back(std::move(setting.value));
  }
  // toml++ iterates its table in key order; report in file order.
  std::stable_sort(settings.begin(), settings.end(),
                   [](const FileSetting& a, const FileSetting& b) { return a.line < b.line; });
  return {common::Status::ok(), std::move(settings)};
}

}  // namespace herald::broker::net
