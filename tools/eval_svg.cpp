// The plots of `clawtrace eval`, written by hand as SVG: fixed sizes and number formats,
// no script, no timestamps, so the same report gives the same bytes.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "eval.h"

namespace clawtrace::eval {
namespace {

constexpr const char* kSuccess = "#2e7d32", *kPartial = "#f9a825", *kFailure = "#c62828";
struct Part {
  const char* label;
  const char* color;
  double cli::SessionCost::*usd;
};
constexpr Part kParts[] = {{"LLM input side", "#1f77b4", &cli::SessionCost::llm_input_usd},
                           {"LLM output", "#ff7f0e", &cli::SessionCost::llm_output_usd},
                           {"tool results", "#2ca02c", &cli::SessionCost::tool_results_usd},
                           {"sub-agents", "#9467bd", &cli::SessionCost::subagents_usd}};

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

std::string escaped(std::string_view raw) {
  std::string out;
  for (char c : printable(raw)) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

class Svg {
 public:
  Svg(double w, double h) {
    out_ = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(w) +
           "\" height=\"" + num(h) + "\" viewBox=\"0 0 " + num(w) + " " + num(h) +
           "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  }
  void rect(double x, double y, double w, double h, const std::string& fill, const std::string& title,
            const std::string& extra = "") {
    out_ += "<rect x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(w) + "\" height=\"" + num(h) +
            "\" fill=\"" + fill + "\"" + extra + ">";
    if (!title.empty()) out_ += "<title>" + escaped(title) + "</title>";
    out_ += "</rect>\n";
  }
  void line(double x1, double y1, double x2, double y2, const char* stroke) {
    out_ += "<line x1=\"" + num(x1) + "\" y1=\"" + num(y1) + "\" x2=\"" + num(x2) + "\" y2=\"" + num(y2) +
            "\" stroke=\"" + stroke + "\"/>\n";
  }
  // anchor: start, middle or end; rotate: degrees about (x, y).
  void text(double x, double y, std::string_view s, const char* anchor = "start", const std::string& extra = "") {
    out_ += "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\" text-anchor=\"" + anchor + "\"" + extra + ">" +
            escaped(s) + "</text>\n";
  }
  std::string done() { return out_ + "</svg>\n"; }

 private:
  std::string out_;
};

std::string percent(size_t part, size_t whole) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f%%", 100.0 * static_cast<double>(part) / static_cast<double>(whole));
  return buf;
}

void legend(Svg& svg, double x, double y, const std::vector<std::pair<std::string, std::string>>& items) {
  for (const auto& [label, color] : items) {
    svg.rect(x, y - 10, 12, 12, color, "");
    svg.text(x + 18, y, label);
    y += 20;
  }
}

void outcome_bar(Svg& svg, double x, double w, double top, double h, const char* name, const Outcomes& o) {
  const size_t scored = o.success + o.partial + o.failure;
  svg.text(x + w / 2, top + h + 18, name, "middle");
  svg.text(x + w / 2, top + h + 34,
           std::to_string(scored) + " scored run" + (scored == 1 ? "" : "s") +
               (o.unscored ? " (+" + std::to_string(o.unscored) + " unscored)" : ""),
           "middle", " font-size=\"10\"");
  if (scored == 0) {
    svg.rect(x, top, w, h, "none", "no scored runs", " stroke=\"#999\" stroke-dasharray=\"4 3\"");
    return;
  }
  double y = top + h;
  const std::tuple<const char*, const char*, size_t> parts[] = {
      {"success", kSuccess, o.success}, {"partial", kPartial, o.partial}, {"failure", kFailure, o.failure}};
  for (const auto& [label, color, n] : parts) {
    if (n == 0) continue;
    const double seg = h * static_cast<double>(n) / static_cast<double>(scored);
    y -= seg;
    svg.rect(x, y, w, seg, color, std::string(name) + ": " + label + " " + std::to_string(n) + " of " +
                                      std::to_string(scored) + " (" + percent(n, scored) + ")");
    if (seg >= 16) svg.text(x + w / 2, y + seg / 2 + 4, percent(n, scored) + " (" + std::to_string(n) + ")", "middle",
                            " fill=\"white\"");
  }
}

// A round axis step (1, 2 or 5 times a power of ten) giving about five ticks up to `max`.
double tick_step(double max) {
  const double raw = max / 5;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double r = raw / mag;
  return (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * mag;
}

std::string usd_label(double v, double step) {
  const int decimals = std::clamp(static_cast<int>(-std::floor(std::log10(step))), 0, 9);
  char buf[48];
  std::snprintf(buf, sizeof buf, "$%.*f", decimals, v);
  return buf;
}

void cost_bar(Svg& svg, double x, double w, double base_y, double scale, const std::string& who,
              const cli::SessionCost& c, const char* opacity) {
  double y = base_y;
  for (const auto& part : kParts) {
    const double usd = c.*part.usd;
    if (usd <= 0) continue;
    const double h = usd * scale;
    y -= h;
    char value[48];
    std::snprintf(value, sizeof value, "%.6f", usd);
    svg.rect(x, y, w, h, part.color, who + " · " + part.label + ": $" + value, std::string(" fill-opacity=\"") + opacity + "\"");
  }
}

}  // namespace

std::string outcomes_svg(const Report& r) {
  constexpr double kTop = 50, kHeight = 240, kLeft = 70, kBar = 110, kGap = 60;
  Svg svg(kLeft + 2 * kBar + 2 * kGap + 150, kTop + kHeight + 60);
  svg.text(kLeft, 22, "Outcome rates per condition", "start", " font-size=\"14\" font-weight=\"bold\"");
  svg.text(kLeft, 38, "runs of the paired tasks; success: Q = 1, failure: Q = 0", "start", " font-size=\"10\"");
  for (int pct = 0; pct <= 100; pct += 25) {
    const double y = kTop + kHeight * (1 - pct / 100.0);
    svg.line(kLeft - 4, y, kLeft + 2 * kBar + 2 * kGap - 20, y, "#ddd");
    svg.text(kLeft - 8, y + 4, std::to_string(pct) + "%", "end");
  }
  outcome_bar(svg, kLeft + kGap / 2, kBar, kTop, kHeight, "baseline", r.baseline_outcomes);
  outcome_bar(svg, kLeft + kGap * 1.5 + kBar, kBar, kTop, kHeight, "treated", r.treated_outcomes);
  legend(svg, kLeft + 2 * kBar + 2 * kGap, kTop + 10,
         {{"success", kSuccess}, {"partial", kPartial}, {"failure", kFailure}});
  return svg.done();
}

std::string task_costs_svg(const Report& r) {
  constexpr double kTop = 64, kHeight = 240, kLeft = 90, kBar = 18, kPair = 4, kGroup = 28, kBottom = 120;
  const double groups_w = static_cast<double>(r.tasks.size()) * (2 * kBar + kPair + kGroup) + kGroup;
  const double plot_w = std::max(groups_w, 320.0);  // room for the titles
  Svg svg(kLeft + plot_w + 190, kTop + kHeight + kBottom);
  svg.text(kLeft, 22, "Cost per task (USD)", "start", " font-size=\"14\" font-weight=\"bold\"");
  svg.text(kLeft, 38, "median run; B baseline (light), T treated; split by the kinds of the card's steps", "start",
           " font-size=\"10\"");
  double max = 0;
  bool unpriced = false;
  for (const auto& t : r.tasks) {
    max = std::max({max, t.baseline.cost.total_usd, t.treated.cost.total_usd});
    unpriced |= t.baseline.unpriced_calls || t.treated.unpriced_calls;
  }
  if (unpriced)
    svg.text(kLeft, 52, "some calls used models without a price: their cost is missing from the bars", "start",
             " font-size=\"10\" fill=\"#c62828\"");
  const double step = max > 0 ? tick_step(max) : 0.001;
  const double top_usd = max > 0 ? std::ceil(max / step - 1e-9) * step : 5 * step;
  const double scale = kHeight / top_usd, base_y = kTop + kHeight;
  for (int i = 0; i * step <= top_usd * (1 + 1e-9); ++i) {
    const double y = base_y - i * step * scale;
    svg.line(kLeft - 4, y, kLeft + plot_w, y, "#ddd");
    svg.text(kLeft - 8, y + 4, usd_label(i * step, step), "end");
  }
  double x = kLeft + kGroup;
  for (const auto& t : r.tasks) {
    const std::string name = printable(t.task);
    cost_bar(svg, x, kBar, base_y, scale, name + " · baseline", t.baseline.cost, "0.45");
    cost_bar(svg, x + kBar + kPair, kBar, base_y, scale, name + " · treated", t.treated.cost, "1");
    svg.text(x + kBar / 2, base_y + 13, "B", "middle", " font-size=\"9\"");
    svg.text(x + kBar * 1.5 + kPair, base_y + 13, "T", "middle", " font-size=\"9\"");
    const double cx = x + kBar + kPair / 2, ly = base_y + 26;
    svg.text(cx, ly, name.size() > 24 ? name.substr(0, 23) + "…" : name, "end",
             " transform=\"rotate(-35 " + num(cx) + " " + num(ly) + ")\"");
    x += 2 * kBar + kPair + kGroup;
  }
  svg.line(kLeft, base_y, kLeft + plot_w, base_y, "#333");
  std::vector<std::pair<std::string, std::string>> items;
  for (const auto& part : kParts) items.emplace_back(part.label, part.color);
  legend(svg, kLeft + plot_w + 20, kTop + 10, items);
  return svg.done();
}

}  // namespace clawtrace::eval
