// Everything the settings table (config_flags.cc) drives: the flags, HERALD_ variables and
// config-file keys, their merge by precedence, --help, --print-config and the SIGHUP diff. One
// table, so none of them can drift from what the parser accepts.
#include "broker/net/config.h"

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "broker/cluster/redis_config.h"
#include "broker/net/config_file.h"
#include "broker/net/config_flags.h"
#include "storage/history_rules.h"

namespace herald::broker::net {

namespace {

using Flag = SettingSpec;
using Kind = SettingSpec::Kind;
using Scope = SettingSpec::Scope;

// Several nodes: every topic is numbered in Redis, so history lives there too (redis rules);
// a node-local log would number its topics on its own.
common::Status check_cluster_settings(const ServerConfig& c) {
  auto rules = storage::HistoryRules::parse(c.history);
  if (!rules.status.is_ok()) return common::Status::invalid_argument(rules.status.message());
  if (c.redis.empty()) {
    if (rules.value.uses(storage::Backend::kRedis)) {
      return common::Status::invalid_argument("a --history redis rule needs --redis");
    }
    if (!c.redis_password_file.empty() || !c.redis_tls_ca_file.empty()) {
      return common::Status::invalid_argument(
          "--redis-password-file and --redis-tls-ca-file need --redis");
    }
    return common::Status::ok();
  }
  if (rules.value.uses(storage::Backend::kMemory) || rules.value.uses(storage::Backend::kRocksDb)) {
    return common::Status::invalid_argument(
        "with --redis, history is kept in Redis: use PATTERN=redis,count=N[,age=T] rules "
        "(memory and rocksdb rules are for a single node)");
  }
  cluster::RedisConfig check;
  for (const std::string& url : c.redis) {
    if (common::Status added = cluster::add_redis_url(check, url); !added.is_ok()) return added;
  }
  return common::Status::ok();
}

FlagsResult fail(std::string message) {
  FlagsResult result;
  result.status = FlagsResult::Status::kError;
  result.error = std::move(message);
  return result;
}

// One setting's values from one layer (flags, variables or the file), with its place for
// errors ("--port", "HERALD_PORT", "herald.toml:3: port") and for --print-config.
struct Setting {
  const Flag* flag = nullptr;
  std::vector<std::string> values;
  Source source = Source::kDefault;
  std::string place;
  std::string where;
};

// Every layer's settings; the last one seen of a setting in the highest layer wins, and a
// repeatable flag's values add up within that layer only.
struct Layers {
  std::vector<Setting> settings;
  bool help = false;
  bool print = false;

  void put(const Flag& flag, std::string value, Source source, std::string place,
           std::string where) {
    for (Setting& setting : settings) {
      if (setting.flag != &flag || setting.source != source) continue;
      if (flag.kind != Kind::kList) setting.values.clear();
      setting.values.push_back(std::move(value));
      setting.place = std::move(place);
      setting.where = std::move(where);
      return;
    }
    settings.push_back({&flag, {std::move(value)}, source, std::move(place), std::move(where)});
  }
  [[nodiscard]] const Setting* winner(const Flag& flag) const {
    const Setting* best = nullptr;
    for (const Setting& setting : settings) {
      if (setting.flag == &flag && (best == nullptr || setting.source > best->source)) {
        best = &setting;
      }
    }
    return best;
  }
};

// The command line into `layers`. Fails with the line to print.
common::Status read_flags(std::span<const char* const> args, Layers& layers) {
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (!arg.starts_with("--")) {
      return common::Status::invalid_argument("unexpected argument '" + std::string(arg) + "'");
    }
    arg.remove_prefix(2);
    std::string_view value;
    bool has_inline_value = false;
    if (size_t eq = arg.find('='); eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_inline_value = true;
    }
    const Flag* flag = find_flag(arg);
    std::string dashed = "--" + std::string(arg);
    if (flag == nullptr) return common::Status::invalid_argument("unknown flag " + dashed);
    if (flag->kind == Kind::kSwitch) {
      if (has_inline_value) return common::Status::invalid_argument(dashed + " takes no value");
      if (flag->name == "help") layers.help = true;
      if (flag->name == "print-config") layers.print = true;
      value = "true";
    } else if (!has_inline_value) {
      if (i + 1 == args.size()) return common::Status::invalid_argument(dashed + " needs a value");
      value = args[++i];
    }
    layers.put(*flag, std::string(value), Source::kFlag, "flag " + dashed, dashed);
  }
  return common::Status::ok();
}

// HERALD_MAX_CONNECTIONS for max-connections.
std::string variable_name(std::string_view name) {
  std::string variable = "HERALD_";
  for (char c : name) variable += c == '-' ? '_' : static_cast<char>(c - 'a' + 'A');
  return variable;
}

// The HERALD_<FLAG> variables of `env` into `layers`; HERALD_HISTORY holds rules split by ';'.
void read_env(std::span<const std::string> env, Layers& layers) {
  for (const Flag& flag : setting_table()) {
    if (flag.scope == Scope::kCommandLine) continue;
    std::string prefix = variable_name(flag.name) + "=";
    for (const std::string& entry : env) {
      if (!entry.starts_with(prefix)) continue;
      std::string_view value = std::string_view(entry).substr(prefix.size());
      std::string variable = prefix.substr(0, prefix.size() - 1);
      do {
        size_t split = flag.kind == Kind::kList ? value.find(';') : std::string_view::npos;
        layers.put(flag, std::string(value.substr(0, split)), Source::kEnv, "env " + variable,
                   variable);
        value = split == std::string_view::npos ? std::string_view() : value.substr(split + 1);
      } while (!value.empty());
    }
  }
}

// The file's settings into `layers`. Fails with the line to print.
common::Status read_file(std::string_view text, std::string_view path, Layers& layers) {
  common::Result<std::vector<FileSetting>> parsed = parse_config_file(text, path);
  if (!parsed.status.is_ok()) return parsed.status;
  for (const FileSetting& setting : parsed.value) {
    std::string line = std::string(path) + ":" + std::to_string(setting.line);
    for (const std::string& value : setting.values) {
      layers.put(*setting.spec, value, Source::kFile, "file " + line,
                 line + ": " + std::string(setting.spec->name));
    }
    if (setting.values.empty()) {  // history = []: no rules, overriding nothing below
      layers.settings.push_back({setting.spec, {}, Source::kFile, "file " + line, line});
    }
  }
  return common::Status::ok();
}

// Every value of every layer checked (an overridden bad value would surface the day its
// override goes), then the winners applied over the defaults, then the checks across settings.
FlagsResult merge(const Layers& layers) {
  FlagsResult result;
  for (const Setting& setting : layers.settings) {
    if (setting.flag->scope == Scope::kCommandLine || setting.flag->name == "config") continue;
    ServerConfig scratch;
    for (const std::string& value : setting.values) {
      if (common::Status applied = apply(*setting.flag, value, scratch); !applied.is_ok()) {
        return fail(setting.where + ": " + applied.message());
      }
    }
  }
  for (const Flag& flag : setting_table()) {
    const Setting* setting = layers.winner(flag);
    result.origins.push_back({flag.name, setting ? setting->source : Source::kDefault,
                              setting ? setting->place : "default"});
    if (setting == nullptr || flag.scope == Scope::kCommandLine) continue;
    if (flag.name == "config") {
      result.config_path = setting->values.back();
      continue;
    }
    for (const std::string& value : setting->values) {
      [[maybe_unused]] common::Status applied = apply(flag, value, result.config);
      assert(applied.is_ok());  // checked above
    }
  }
  const ServerConfig& c = result.config;
  if (c.tls && (c.cert_path.empty() || c.key_path.empty())) {
    return fail("--tls-port needs --cert and --key");
  }
  if (!c.tls && (!c.cert_path.empty() || !c.key_path.empty() || c.tls_only)) {
    return fail("--cert, --key and --tls-only need --tls-port");
  }
  if (common::Status cluster = check_cluster_settings(c); !cluster.is_ok()) {
    return fail(cluster.message());
  }
  if (layers.print) result.status = FlagsResult::Status::kPrintConfig;
  return result;
}

// A setting's value as a TOML value: numbers and switches bare, text quoted, a list as an array.
std::string toml_value(const Flag& flag, const ServerConfig& c) {
  auto quote = [](std::string_view text) {  // a TOML basic string
    std::string quoted = "\"";
    for (char ch : text) {
      if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) {
        char escaped[8];
        std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned char>(ch));
        quoted += escaped;
        continue;
      }
      if (ch == '"' || ch == '\\') quoted += '\\';
      quoted += ch;
    }
    return quoted + "\"";
  };
  if (flag.kind == Kind::kList) {
    std::string array = "[";
    for (const std::string& item : list_of(flag.name, c)) {
      array += (array.size() > 1 ? ", " : "") + quote(item);
    }
    return array + "]";
  }
  std::string value = value_of(flag.name, c);
  return flag.kind == Kind::kText ? quote(value) : value;
}

// Whether a setting has a value to show (not an empty text nor an unset default).
bool has_value(const Flag& flag, const ServerConfig& c) {
  if (flag.kind == Kind::kList) return !list_of(flag.name, c).empty();
  return !value_of(flag.name, c).empty();
}

// The file's bytes into `text`; false with errno set when it cannot be read.
bool read_whole_file(const std::string& path, std::string& text) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return false;
  char buffer[4096];
  size_t got = 0;
  while ((got = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, got);
  int error = std::ferror(file) != 0 ? errno : 0;  // EISDIR for a directory
  std::fclose(file);
  errno = error;
  return error == 0;
}

// Loads all layers; `file_text` stands in for the file when given (tests).
FlagsResult load(std::span<const char* const> args, std::span<const std::string> env,
                 const std::string* file_text, std::string_view file_path) {
  Layers layers;
  if (common::Status read = read_flags(args, layers); !read.is_ok()) return fail(read.message());
  if (layers.help) {
    FlagsResult help;
    help.status = FlagsResult::Status::kHelp;
    return help;
  }
  read_env(env, layers);
  const Setting* config = layers.winner(*find_flag("config"));
  std::string path = config ? config->values.back() : std::string(file_path);
  if (config != nullptr || file_text != nullptr) {
    std::string text;
    if (file_text != nullptr) {
      text = *file_text;
    } else {
      if (!read_whole_file(path, text)) {
        return fail(config->where + ": cannot read " + path + ": " + std::strerror(errno));
      }
    }
    if (common::Status read = read_file(text, path, layers); !read.is_ok()) {
      return fail(read.message());
    }
  }
  FlagsResult result = merge(layers);
  if (result.status != FlagsResult::Status::kError) result.config_path = path;
  return result;
}

}  // namespace

FlagsResult parse_flags(std::span<const char* const> args) {
  Layers layers;
  if (common::Status read = read_flags(args, layers); !read.is_ok()) return fail(read.message());
  FlagsResult result = merge(layers);
  if (layers.help) result.status = FlagsResult::Status::kHelp;
  return result;
}

FlagsResult load_config(std::span<const char* const> args, std::span<const std::string> env) {
  return load(args, env, nullptr, "");
}

FlagsResult load_config_text(std::span<const char* const> args, std::span<const std::string> env,
                             std::string_view file_text, std::string_view file_path) {
  std::string text(file_text);
  return load(args, env, &text, file_path);
}

std::string usage_text() {
  ServerConfig defaults;
  std::string text =
      "usage: herald [--config FILE] [flags]\n\n"
      "Each flag is also a key of the --config file and a HERALD_<FLAG> variable\n"
      "(HERALD_MAX_CONNECTIONS); flags override variables, which override the file.\n\nflags:\n";
  for (const Flag& flag : setting_table()) {
    std::string left = "  --" + std::string(flag.name);
    if (flag.kind == Kind::kNumber) left += " N";
    if (flag.kind == Kind::kText || flag.kind == Kind::kList) {
      left += flag.name == "host"                           ? " ADDR"
              : flag.name == "history"                      ? " RULE"
              : flag.name == "redis"                        ? " URL"
              : flag.name.starts_with("redis-")             ? " FILE"
              : (flag.name == "cert" || flag.name == "key") ? " FILE"
              : flag.name.starts_with("jwt")                ? " FILE"
              : flag.name == "config"                       ? " FILE"
              : flag.name == "trusted-proxies"              ? " CIDRS"
              : flag.name == "allowed-origins"              ? " LIST"
                                                            : " NAME";
    }
    left.resize(std::max<size_t>(left.size() + 1, 31), ' ');
    text += left + std::string(flag.help);
    std::string def = flag.kind == Kind::kSwitch ? "" : value_of(flag.name, defaults);
    if (def.empty()) def = flag.unset;
    if (!def.empty()) text += " (default: " + def + ")";
    text += "\n";
  }
  return text;
}

std::string print_config_text(const FlagsResult& loaded) {
  std::string text = "# herald's effective configuration, each value with its source\n";
  for (const Flag& flag : setting_table()) {
    if (flag.scope != Scope::kAll) continue;
    std::string where;
    for (const SettingOrigin& origin : loaded.origins) {
      if (origin.name == flag.name) where = origin.where;
    }
    std::string line = has_value(flag, loaded.config)
                           ? std::string(flag.name) + " = " + toml_value(flag, loaded.config)
                           : "# " + std::string(flag.name) + " unset (" +
                                 std::string(flag.unset.empty() ? "none" : flag.unset) + ")";
    line.resize(std::max<size_t>(line.size() + 1, 44), ' ');
    text += line + "# " + where + "\n";
  }
  return text;
}

std::vector<SettingChange> diff_config(const ServerConfig& before, const ServerConfig& after) {
  std::vector<SettingChange> changes;
  for (const Flag& flag : setting_table()) {
    if (flag.scope != Scope::kAll) continue;
    std::string old_value = toml_value(flag, before);
    std::string new_value = toml_value(flag, after);
    if (old_value != new_value) {
      changes.push_back({flag.name, std::move(old_value), std::move(new_value), flag.reloadable});
    }
  }
  return changes;
}

}  // namespace herald::broker::net
