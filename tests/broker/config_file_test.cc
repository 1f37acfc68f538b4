// The config file, HERALD_ variables and flags together: precedence, sources, every error
// path with its place (file:line: key, variable, flag), --print-config and the SIGHUP diff.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "broker/net/config.h"

namespace herald::broker::net {
namespace {

using Args = std::vector<const char*>;
using Env = std::vector<std::string>;

FlagsResult load(const std::string& toml, Env env = {}, Args args = {}) {
  return load_config_text(args, env, toml, "herald.toml");
}

const SettingOrigin& origin_of(const FlagsResult& result, std::string_view name) {
  for (const SettingOrigin& origin : result.origins) {
    if (origin.name == name) return origin;
  }
  ADD_FAILURE() << "no origin for " << name;
  static const SettingOrigin kNone;
  return kNone;
}

// The error of a load that must fail: exactly one line.
std::string error_of(const FlagsResult& result) {
  EXPECT_EQ(result.status, FlagsResult::Status::kError);
  EXPECT_EQ(result.error.find('\n'), std::string::npos) << result.error;
  return result.error;
}

TEST(ConfigFileTest, FileValuesTakeEffect) {
  FlagsResult result = load(
      "# a comment\n"
      "port = 9001\n"
      "max-message-bytes = 1024\n"
      "echo = true\n"
      "slow-consumer-policy = \"conflate\"\n"
      "history = [\"a.>=memory,count=10\", \"b.>=none\"]\n"
      "allowed-origins = \"https://app.example.com\"\n");
  ASSERT_EQ(result.status, FlagsResult::Status::kRun) << result.error;
  EXPECT_EQ(result.config.port, 9001);
  EXPECT_EQ(result.config.max_message_bytes, 1024u);
  EXPECT_TRUE(result.config.echo);
  EXPECT_EQ(result.config.slow_consumer_policy, protocol::pubsub::Policy::kConflate);
  EXPECT_EQ(result.config.history, (std::vector<std::string>{"a.>=memory,count=10", "b.>=none"}));
  EXPECT_EQ(result.config.access_settings.allowed_origins, "https://app.example.com");
  EXPECT_EQ(origin_of(result, "port").where, "file herald.toml:2");
  EXPECT_EQ(origin_of(result, "history").where, "file herald.toml:6");
  EXPECT_EQ(origin_of(result, "host").where, "default");
  EXPECT_EQ(origin_of(result, "host").source, Source::kDefault);
  EXPECT_EQ(result.config.host, "0.0.0.0");
}

TEST(ConfigFileTest, FlagsOverrideEnvironmentOverridesFile) {
  const std::string toml = "port = 9001\nmax-connections = 10\nmax-topics = 5\n";
  Env env = {"HERALD_PORT=9002", "HERALD_MAX_CONNECTIONS=20", "PATH=/bin", "HERALD_BIN=x"};
  FlagsResult result = load(toml, env, {"--port", "9003"});
  ASSERT_EQ(result.status, FlagsResult::Status::kRun) << result.error;
  EXPECT_EQ(result.config.port, 9003);            // flag over env over file
  EXPECT_EQ(result.config.max_connections, 20u);  // env over file
  EXPECT_EQ(result.config.max_topics, 5u);        // file over default
  EXPECT_EQ(origin_of(result, "port").source, Source::kFlag);
  EXPECT_EQ(origin_of(result, "port").where, "flag --port");
  EXPECT_EQ(origin_of(result, "max-connections").source, Source::kEnv);
  EXPECT_EQ(origin_of(result, "max-connections").where, "env HERALD_MAX_CONNECTIONS");
  EXPECT_EQ(origin_of(result, "max-topics").source, Source::kFile);
  // Without the flag the variable wins; without both the file does.
  EXPECT_EQ(load(toml, env).config.port, 9002);
  EXPECT_EQ(load(toml).config.port, 9001);
}

TEST(ConfigFileTest, ARepeatableSettingIsReplacedWholeByAHigherLayer) {
  const std::string toml = "history = [\"a.>=memory,count=1\", \"b.>=memory,count=2\"]\n";
  EXPECT_EQ(load(toml).config.history.size(), 2u);
  FlagsResult env = load(toml, {"HERALD_HISTORY=c.>=memory,count=3;d.>=none"});
  ASSERT_EQ(env.status, FlagsResult::Status::kRun) << env.error;
  EXPECT_EQ(env.config.history, (std::vector<std::string>{"c.>=memory,count=3", "d.>=none"}));
  FlagsResult flags = load(toml, {"HERALD_HISTORY=c.>=memory,count=3"},
                           {"--history", "e.>=none", "--history=f.>=memory,bytes=1KiB"});
  ASSERT_EQ(flags.status, FlagsResult::Status::kRun) << flags.error;
  EXPECT_EQ(flags.config.history, (std::vector<std::string>{"e.>=none", "f.>=memory,bytes=1KiB"}));
  // An empty array in the file is a value: no history, overriding nothing below it.
  FlagsResult empty = load("history = []\n");
  ASSERT_EQ(empty.status, FlagsResult::Status::kRun) << empty.error;
  EXPECT_TRUE(empty.config.history.empty());
  EXPECT_EQ(origin_of(empty, "history").source, Source::kFile);
}

TEST(ConfigFileTest, SwitchesFromTheEnvironment) {
  EXPECT_TRUE(load("", {"HERALD_ECHO=true"}).config.echo);
  EXPECT_FALSE(load("echo = true\n", {"HERALD_ECHO=false"}).config.echo);
  EXPECT_TRUE(load("echo = false\n", {"HERALD_ECHO=false"}, {"--echo"}).config.echo);
}

TEST(ConfigFileTest, FileErrorsNameFileLineAndKey) {
  struct Case {
    std::string toml;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"port = 1\nmax-conections = 3\n",
       "herald.toml:2: max-conections: unknown key (the keys are the flags of herald --help, "
       "without --)"},
      {"port = \"8080\"\n", "herald.toml:1: port: expected an integer, got a string"},
      {"port = 80.5\n", "herald.toml:1: port: expected an integer, got a float"},
      {"\n\nport = 70000\n", "herald.toml:3: port: 70000 is out of range [0, 65535]"},
      {"max-connections = -1\n", "herald.toml:1: max-connections: not a number: '-1'"},
      {"workers = 0\n", "herald.toml:1: workers: 0 is out of range [1, 1024]"},
      {"host = 1\n", "herald.toml:1: host: expected a string, got an integer"},
      {"echo = \"yes\"\n", "herald.toml:1: echo: expected a boolean (true or false), got a string"},
      {"history = \"a.>=none\"\n",
       "herald.toml:1: history: expected an array of strings, got a string"},
      {"history = [\n  \"a.>=none\",\n  3,\n]\n",
       "herald.toml:3: history: expected an array of strings, got an integer"},
      {"slow-consumer-policy = \"block\"\n",
       "herald.toml:1: slow-consumer-policy: 'block' is not disconnect, drop, conflate or "
       "catchup"},
      {"io = \"kqueue\"\n", "herald.toml:1: io: 'kqueue' is not auto, uring or epoll"},
      {"auth = \"maybe\"\n", "herald.toml:1: auth: 'maybe' is not off or required"},
      {"allow-missing-origin = \"yes\"\n",
       "herald.toml:1: allow-missing-origin: 'yes' is not true or false"},
      {"host = \"\"\n", "herald.toml:1: host: empty value"},
      {"[tls]\nport = 1\n",
       "herald.toml:1: tls: unknown key (the keys are the flags of herald --help, without --)"},
      // Command-line-only flags are no keys.
      {"config = \"other.toml\"\n",
       "herald.toml:1: config: unknown key (the keys are the flags of herald --help, without --)"},
      {"help = true\n",
       "herald.toml:1: help: unknown key (the keys are the flags of herald --help, without --)"},
  };
  for (const Case& c : cases) EXPECT_EQ(error_of(load(c.toml)), c.error) << c.toml;
  // A history rule is checked by the rule parser, with its place.
  EXPECT_EQ(error_of(load("history = [\"a.>=memory,count=1\", \"b.>=floppy\"]\n"))
                .rfind("herald.toml:1: history: ", 0),
            0u);
  // A TOML syntax error: file, line and column from toml++.
  EXPECT_EQ(error_of(load("port = 1\nport = \n")).rfind("herald.toml:2:", 0), 0u);
  EXPECT_EQ(error_of(load("port = 1\nport = 2\n")).rfind("herald.toml:2:", 0), 0u)
      << "a key given twice is a TOML error";
}

TEST(ConfigFileTest, EnvironmentErrorsNameTheVariable) {
  EXPECT_EQ(error_of(load("", {"HERALD_PORT=80a"})), "HERALD_PORT: not a number: '80a'");
  EXPECT_EQ(error_of(load("", {"HERALD_MAX_TOPICS=0"})),
            "HERALD_MAX_TOPICS: 0 is out of range [1, 1099511627776]");
  EXPECT_EQ(error_of(load("", {"HERALD_ECHO=1"})), "HERALD_ECHO: '1' is not true or false");
  EXPECT_EQ(error_of(load("", {"HERALD_IO=kqueue"})),
            "HERALD_IO: 'kqueue' is not auto, uring or epoll");
  EXPECT_EQ(error_of(load("", {"HERALD_HISTORY=a.>=none;b.>=floppy"})).rfind("HERALD_HISTORY: ", 0),
            0u);
  // A bad value is an error even where a higher layer overrides it: it would surface the day
  // the override goes.
  EXPECT_EQ(error_of(load("", {"HERALD_PORT=80a"}, {"--port", "1"})),
            "HERALD_PORT: not a number: '80a'");
  EXPECT_EQ(error_of(load("port = 70000\n", {"HERALD_PORT=1"})),
            "herald.toml:1: port: 70000 is out of range [0, 65535]");
  // Command-line-only flags are not read from the environment.
  EXPECT_EQ(load("", {"HERALD_PRINT_CONFIG=true"}).status, FlagsResult::Status::kRun);
}

TEST(ConfigFileTest, FlagErrorsKeepTheirFormat) {
  EXPECT_EQ(error_of(load("", {}, {"--port", "65536"})),
            "--port: 65536 is out of range [0, 65535]");
  EXPECT_EQ(error_of(load("", {}, {"--max-connections=x"})),
            "--max-connections: not a number: 'x'");
  // The file is read only after the flags parsed: a bad flag is reported first.
  EXPECT_EQ(error_of(load("nope = 1\n", {}, {"--nope"})), "unknown flag --nope");
}

TEST(ConfigFileTest, ConfigPathFromFlagOrVariable) {
  const std::string path = ::testing::TempDir() + "/config_file_test.toml";
  std::ofstream(path) << "max-topics = 42\n";
  Args args = {"--config", path.c_str()};
  FlagsResult from_flag = load_config(args, {});
  ASSERT_EQ(from_flag.status, FlagsResult::Status::kRun) << from_flag.error;
  EXPECT_EQ(from_flag.config.max_topics, 42u);
  EXPECT_EQ(from_flag.config_path, path);
  EXPECT_EQ(origin_of(from_flag, "max-topics").where, "file " + path + ":1");
  Env env = {"HERALD_CONFIG=" + path};
  EXPECT_EQ(load_config({}, env).config.max_topics, 42u);
  // The flag names the file over the variable.
  Args missing = {"--config", "/nonexistent/herald.toml"};
  EXPECT_EQ(error_of(load_config(missing, env)),
            "--config: cannot read /nonexistent/herald.toml: No such file or directory");
  Env missing_env = {"HERALD_CONFIG=/nonexistent/herald.toml"};
  EXPECT_EQ(error_of(load_config({}, missing_env)),
            "HERALD_CONFIG: cannot read /nonexistent/herald.toml: No such file or directory");
  std::remove(path.c_str());
}

TEST(ConfigFileTest, ChecksAcrossSettingsSeeEveryLayer) {
  EXPECT_EQ(error_of(load("tls-port = 8443\n")), "--tls-port needs --cert and --key");
  FlagsResult tls = load("tls-port = 8443\ncert = \"c.pem\"\n", {"HERALD_KEY=k.pem"});
  ASSERT_EQ(tls.status, FlagsResult::Status::kRun) << tls.error;
  EXPECT_TRUE(tls.config.tls);
  EXPECT_EQ(tls.config.key_path, "k.pem");
}

TEST(ConfigFileTest, PrintConfigShowsEveryValueAndItsSource) {
  FlagsResult result = load("max-topics = 5\nhistory = [\"a.>=none\"]\n",
                            {"HERALD_MAX_CONNECTIONS=20"}, {"--port", "9003", "--print-config"});
  ASSERT_EQ(result.status, FlagsResult::Status::kPrintConfig) << result.error;
  std::string text = print_config_text(result);
  auto line_of = [&text](const std::string& key) {
    std::string set = "\n";
    set.append(key).append(" = ");
    std::string unset = "\n# ";
    unset.append(key).append(" unset");
    size_t at = text.find(set);
    if (at == std::string::npos) at = text.find(unset);
    EXPECT_NE(at, std::string::npos) << key << " missing from\n" << text;
    if (at == std::string::npos) return std::string();
    return text.substr(at + 1, text.find('\n', at + 1) - at - 1);
  };
  EXPECT_EQ(line_of("port").rfind("port = 9003 ", 0), 0u);
  EXPECT_NE(line_of("port").find("# flag --port"), std::string::npos);
  EXPECT_NE(line_of("max-connections").find("# env HERALD_MAX_CONNECTIONS"), std::string::npos);
  EXPECT_NE(line_of("max-topics").find("# file herald.toml:1"), std::string::npos);
  EXPECT_EQ(line_of("history").rfind("history = [\"a.>=none\"]", 0), 0u);
  EXPECT_NE(line_of("host").find("\"0.0.0.0\""), std::string::npos);
  EXPECT_NE(line_of("host").find("# default"), std::string::npos);
  EXPECT_EQ(line_of("workers").rfind("# workers unset (number of cores)", 0), 0u);
  EXPECT_EQ(text.find("print-config ="), std::string::npos);
  EXPECT_EQ(text.find("\nhelp"), std::string::npos);
}

// --print-config's output is a config file that loads back to the same values, also for
// text that TOML must escape.
TEST(ConfigFileTest, PrintConfigRoundTrips) {
  const std::string odd = "dir \"quoted\" back\\slash\ttab";
  FlagsResult printed = load("", {},
                             {"--data-dir", odd.c_str(), "--max-topics", "9", "--history",
                              "a.>=memory,count=2", "--print-config"});
  ASSERT_EQ(printed.status, FlagsResult::Status::kPrintConfig) << printed.error;
  FlagsResult loaded = load(print_config_text(printed));
  ASSERT_EQ(loaded.status, FlagsResult::Status::kRun) << loaded.error;
  EXPECT_EQ(loaded.config.data_dir, odd);
  EXPECT_EQ(loaded.config.max_topics, 9u);
  EXPECT_EQ(loaded.config.history, std::vector<std::string>{"a.>=memory,count=2"});
  EXPECT_TRUE(diff_config(printed.config, loaded.config).empty());
}

TEST(ConfigFileTest, DiffNamesChangesAndWhetherTheyReload) {
  ServerConfig before = load("port = 1\nallowed-origins = \"https://a.example\"\n").config;
  ServerConfig after = load(
                           "port = 2\nallowed-origins = \"https://b.example\"\n"
                           "history = [\"a.>=none\"]\n")
                           .config;
  std::vector<SettingChange> changes = diff_config(before, after);
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0].name, "port");
  EXPECT_EQ(changes[0].before, "1");
  EXPECT_EQ(changes[0].after, "2");
  EXPECT_FALSE(changes[0].reloadable);
  EXPECT_EQ(changes[1].name, "history");
  EXPECT_EQ(changes[1].after, "[\"a.>=none\"]");
  EXPECT_FALSE(changes[1].reloadable);
  EXPECT_EQ(changes[2].name, "allowed-origins");
  EXPECT_EQ(changes[2].before, "\"https://a.example\"");
  EXPECT_TRUE(changes[2].reloadable);
  EXPECT_TRUE(diff_config(before, before).empty());
}

// The history rule grammar, --help and the README agree: a memory or rocksdb rule needs a
// bound, and --help says so.
TEST(ConfigFileTest, HistoryRulesNeedABoundAndHelpSaysSo) {
  FlagsResult unbounded = load("", {}, {"--history", "x.>=rocksdb,durability=sync"});
  EXPECT_EQ(error_of(unbounded), "--history: a rocksdb rule needs count=, age= or bytes=");
  EXPECT_EQ(load("", {}, {"--history", "x.>=rocksdb,age=7d,durability=sync"}).status,
            FlagsResult::Status::kRun);
  EXPECT_EQ(load("", {}, {"--history", "x.>=memory,age=7d"}).status, FlagsResult::Status::kError);
  const std::string usage = usage_text();
  EXPECT_NE(
      usage.find("--history RULE               PATTERN=BACKEND,BOUNDS[,durability=async|sync]"),
      std::string::npos)
      << usage;
  EXPECT_NE(usage.find("memory needs count= or bytes=, rocksdb at least one of the three"),
            std::string::npos);
}

}  // namespace
}  // namespace herald::broker::net
