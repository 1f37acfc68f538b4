// run_pubsub_load: one run, or with --publish-window-sweep one run per window, each reported
// under results.by_window and as a row of a table on stderr (stdout keeps its one JSON line).
#include <charconv>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "clients/cpp/bench/pubsub_load.h"
#include "clients/cpp/bench/pubsub_report.h"

namespace herald::bench {

namespace {

constexpr size_t kSweepWindowsMax = 32;

std::string optional_text(const std::optional<double>& value, const char* format) {
  if (!value) return "-";
  char text[32];
  std::snprintf(text, sizeof(text), format, *value);
  return text;
}

std::string in_flight_text(const Regime& regime) {
  return regime.in_flight ? std::to_string(*regime.in_flight) : "-";
}

// "1,10,64": whole numbers within --publish-window's limits, at most kSweepWindowsMax.
bool parse_windows(std::string_view text, std::vector<uint32_t>& windows, std::string& error) {
  while (!text.empty()) {
    const size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    uint32_t window = 0;
    const auto [end, status] = std::from_chars(item.data(), item.data() + item.size(), window);
    if (status != std::errc() || end != item.data() + item.size() || window == 0 ||
        window > (1u << 20)) {
      error = "not a window in 1..1048576: '" + std::string(item) + "'";
      return false;
    }
    windows.push_back(window);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
  }
  if (windows.empty() || windows.size() > kSweepWindowsMax) {
    error = "give 1 to " + std::to_string(kSweepWindowsMax) + " windows";
    return false;
  }
  return true;
}

int fail(const PubSubPlan& plan, JsonWriter& out, const std::string& error) {
  out.field("error", error);
  std::cerr << "herald-bench " << plan.scenario << ": " << error << "\n";
  return 1;
}

int run_sweep(const Options& options, const PubSubPlan& plan, const std::vector<uint32_t>& windows,
              JsonWriter& out) {
  int status = 0;
  std::vector<RunSummary> rows;
  out.begin_object("by_window");
  for (const uint32_t window : windows) {
    Options run = options;
    run.publish_window = window;
    RunSummary summary;
    out.begin_object(std::to_string(window));
    const int run_status = run_pubsub_once(run, plan, out, summary);
    out.end_object();
    status = std::max(status, run_status);
    if (run_status == 1) return status;  // could not run: the next window would not either
    rows.push_back(summary);
  }
  out.end_object();
  std::string table = "herald-bench " + plan.scenario + " publish-window sweep\n" +
                      "  window   in_flight  deliveries/s      sends/s  frames/send\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    char row[160];
    std::snprintf(row, sizeof(row), "  %6u  %10s  %12.0f  %11s  %11s\n", windows[i],
                  in_flight_text(rows[i].regime).c_str(), rows[i].deliveries_per_s,
                  optional_text(rows[i].regime.sends_per_s, "%.0f").c_str(),
                  optional_text(rows[i].regime.frames_per_send, "%.2f").c_str());
    table += row;
  }
  std::cerr << table;
  return status;
}

// The one-run text line on stderr: throughput, latency and the regime it was measured in.
std::string summary_line(const PubSubPlan& plan, const Options& options,
                         const RunSummary& summary) {
  char text[320];
  std::snprintf(text, sizeof(text),
                "herald-bench %s: %.0f deliveries/s, p50 %.0f us, p99 %.0f us; in flight %s "
                "(window %s x %u subscribers); broker %s sends/s, %s frames per send",
                plan.scenario.c_str(), summary.deliveries_per_s, summary.latency_p50_us,
                summary.latency_p99_us, in_flight_text(summary.regime).c_str(),
                options.rate == 0 ? std::to_string(options.publish_window).c_str() : "rate",
                plan.subscribers, optional_text(summary.regime.sends_per_s, "%.0f").c_str(),
                optional_text(summary.regime.frames_per_send, "%.2f").c_str());
  return text;
}

}  // namespace

int run_pubsub_load(const Options& options, const PubSubPlan& plan, JsonWriter& out) {
  write_pubsub_params(options, plan, out);
  out.begin_object("results");
  if (!options.publish_window_sweep.empty()) {
    std::vector<uint32_t> windows;
    std::string error;
    if (!parse_windows(options.publish_window_sweep, windows, error)) {
      return fail(plan, out, "--publish-window-sweep: " + error);
    }
    if (options.rate != 0) return fail(plan, out, "--publish-window-sweep needs --rate 0");
    return run_sweep(options, plan, windows, out);
  }
  RunSummary summary;
  const int status = run_pubsub_once(options, plan, out, summary);
  if (status != 1) std::cerr << summary_line(plan, options, summary) << "\n";
  return status;
}

}  // namespace herald::bench
