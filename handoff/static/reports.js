// The supervisors' report page. Its wording comes from core/console.yml (reports_*); every data
// value goes into the page with textContent (chart labels are drawn on a canvas, never parsed).
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const RATINGS = ["1", "2", "3", "4", "5"];
  const RATING_COLOURS = ["#b91c1c", "#f97316", "#facc15", "#84cc16", "#16a34a"];
  const charts = {};
  let texts = {};

  async function api(path) {
    const response = await fetch(path, { credentials: "same-origin" });
    if (response.status === 401) { location.href = "/agent/login"; throw new Error("logged out"); }
    const body = await response.json();
    if (!response.ok) throw new Error(body.message || response.statusText);
    return body;
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
  }

  // One text in both languages, as plain strings.
  function both(key, values = {}) {
    const entry = texts[key];
    return entry ? `${fill(entry.zh, values)} ${fill(entry.en, values)}` : key;
  }

  // One text into a node: Chinese, then the English in the console's smaller grey.
  function put(node, key, values = {}) {
    const entry = texts[key];
    if (!entry) { node.textContent = key; return; }
    const english = document.createElement("span");
    english.className = "en";
    english.textContent = fill(entry.en, values);
    node.replaceChildren(document.createTextNode(`${fill(entry.zh, values)} `), english);
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  const percent = (rate) => (rate === null || rate === undefined ? "—" : `${(rate * 100).toFixed(1)}%`);
  const moment = (ts) => new Date(ts * 1000).toLocaleString();

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    if (seconds < 120) return `${seconds.toFixed(1)} s`;
    if (seconds < 7200) return `${(seconds / 60).toFixed(1)} min`;
    return `${(seconds / 3600).toFixed(1)} h`;
  }

  function tile(id, value, noteKey, values) {
    const node = $(id);
    node.querySelector(".value").textContent = value;
    put(node.querySelector(".note"), noteKey, values);
  }

  function showTiles(report) {
    const c = report.contacts;
    tile("tile-contacts", String(c.total), "tile_contacts_note", c);
    tile("tile-containment", percent(c.containment_rate), "tile_containment_note", {});
    tile("tile-lasting", percent(c.lasting_containment_rate), "tile_lasting_note", { recontact: c.recontact_7d });
    tile("tile-handoff", percent(c.handoff_rate), "tile_handoff_note", { asked: c.asked_for_person });
    const f = report.first_response;
    tile("tile-first-response", duration(f.p95), "tile_first_response_note", {
      target: f.target_seconds, share: percent(f.within_target_share), p50: duration(f.p50),
    });
    const s = report.satisfaction;
    tile("tile-satisfaction", s.average === null ? "—" : `${s.average.toFixed(2)} / 5`,
      "tile_satisfaction_note", { ratings: s.ratings, share: percent(s.satisfied_share) });
  }

  // A chart drawn anew on its canvas (Chart.js keeps one per canvas).
  function draw(id, config) {
    if (charts[id]) charts[id].destroy();
    config.options = { responsive: true, maintainAspectRatio: false, animation: false, ...config.options };
    charts[id] = new window.Chart($(id), config);
  }

  function byRating(groups, name) {
    return {
      type: "bar",
      data: {
        labels: groups.map((g) => g[name]),
        datasets: RATINGS.map((r, i) => ({
          label: both("series_rating", { rating: r }),
          data: groups.map((g) => g.distribution[r]),
          backgroundColor: RATING_COLOURS[i],
        })),
      },
      options: { scales: { x: { stacked: true }, y: { stacked: true, ticks: { precision: 0 } } } },
    };
  }

  function showCharts(report) {
    const days = report.by_day.map((d) => d.day);
    const rateAxis = { min: 0, max: 1, ticks: { callback: (v) => `${Math.round(v * 100)}%` } };
    draw("chart-containment", {
      type: "line",
      data: {
        labels: days,
        datasets: [
          { label: both("series_containment"), data: report.by_day.map((d) => d.containment_rate), borderColor: "#16a34a", backgroundColor: "#16a34a" },
          { label: both("series_handoff"), data: report.by_day.map((d) => d.handoff_rate), borderColor: "#e4393c", backgroundColor: "#e4393c" },
        ],
      },
      options: { scales: { y: rateAxis }, spanGaps: true },
    });
    draw("chart-reasons", {
      type: "bar",
      data: {
        labels: report.handoff_reasons.map((r) => r.rule),
        datasets: [{ label: both("series_tickets"), data: report.handoff_reasons.map((r) => r.count), backgroundColor: "#374151" }],
      },
      options: { indexAxis: "y", scales: { x: { ticks: { precision: 0 } } } },
    });
    const f = report.first_response;
    draw("chart-first-response", {
      type: "line",
      data: {
        labels: days,
        datasets: [
          { label: "p50", data: f.by_day.map((d) => d.p50), borderColor: "#2563eb", backgroundColor: "#2563eb" },
          { label: "p95", data: f.by_day.map((d) => d.p95), borderColor: "#9333ea", backgroundColor: "#9333ea" },
          {
            label: both("series_target", { target: f.target_seconds }), data: days.map(() => f.target_seconds),
            borderColor: "#e4393c", borderDash: [6, 4], pointRadius: 0, backgroundColor: "#e4393c",
          },
        ],
      },
      // Logarithmic: an hour-long wait and the 30 s target both stay readable.
      options: { scales: { y: { type: "logarithmic" } }, spanGaps: true },
    });
    draw("chart-hours", {
      type: "bar",
      data: {
        labels: report.busiest_hours.map((_, hour) => `${String(hour).padStart(2, "0")}:00`),
        datasets: [{ label: both("series_messages"), data: report.busiest_hours, backgroundColor: "#e4393c" }],
      },
      options: { scales: { y: { ticks: { precision: 0 } } } },
    });
    draw("chart-team-satisfaction", byRating(report.satisfaction.by_team, "team"));
    draw("chart-agent-satisfaction", byRating(report.satisfaction.by_agent, "agent"));
  }

  function empty(columns) {
    const row = el("tr");
    const cell = el("td", "none");
    cell.colSpan = columns;
    put(cell, "none");
    row.appendChild(cell);
    return row;
  }

  function due(at, late) {
    const cell = el("td", late ? "late" : "", moment(at));
    if (late) cell.textContent += ` ${both("late")}`;
    return cell;
  }

  function showTables(report) {
    const c = report.complaints;
    put($("complaints-summary"), "complaints_summary", {
      total: c.total, open: c.open, first_late: c.first_feedback_late, resolution_late: c.resolution_late,
    });
    $("complaints").replaceChildren(...(c.items.length ? c.items.map((item) => {
      const row = el("tr", item.first_feedback_late || item.resolution_late ? "late-row" : "");
      row.dataset.ticketId = item.ticket_id;
      [item.ticket_id, item.rule, item.team, item.status, moment(item.created_at)]
        .forEach((value) => row.appendChild(el("td", "", value)));
      row.appendChild(due(item.first_feedback_due, item.first_feedback_late));
      row.appendChild(due(item.resolution_due, item.resolution_late));
      return row;
    }) : [empty(7)]));
    $("gaps").replaceChildren(...(report.kb_gaps.length ? report.kb_gaps.map((gap) => {
      const row = el("tr");
      row.appendChild(el("td", "label", gap.label));
      row.appendChild(el("td", "", String(gap.count)));
      row.appendChild(el("td", "", `${gap.no_match} / ${gap.clarified} / ${gap.fallback}`));
      const examples = el("td");
      const list = el("ul", "examples");
      gap.examples.forEach((text) => list.appendChild(el("li", "", text)));
      examples.appendChild(list);
      row.appendChild(examples);
      return row;
    }) : [empty(4)]));
  }

  async function show(days) {
    document.querySelectorAll("#range button").forEach((b) => b.classList.toggle("selected", b.dataset.days === days));
    document.querySelectorAll(".downloads a").forEach((a) => {
      a.href = `/api/agent/supervisor/metrics.csv?${new URLSearchParams({ days, table: a.dataset.table })}`;
    });
    history.replaceState(null, "", `?${new URLSearchParams({ days })}`);
    $("status").hidden = false;
    put($("status"), "loading");
    document.body.dataset.loaded = "";
    let report;
    try {
      report = await api(`/api/agent/supervisor/metrics?${new URLSearchParams({ days })}`);
    } catch (error) {
      put($("status"), "failed", { error: error.message });
      return;
    }
    put($("period"), "period", { first: report.days[0], last: report.days[report.days.length - 1] });
    showTiles(report);
    showTables(report);
    if (window.Chart) {
      showCharts(report);
      $("status").hidden = true;
    } else {
      put($("status"), "no_charts");
    }
    document.body.dataset.loaded = days; // for whoever waits on the page: drawn
  }

  async function start() {
    texts = await api("/api/agent/supervisor/report-texts");
    document.title = both("title");
    document.querySelectorAll("[data-text]").forEach((node) => put(node, node.dataset.text));
    document.querySelectorAll("#range button").forEach((button) =>
      button.addEventListener("click", () => show(button.dataset.days)));
    const asked = new URLSearchParams(location.search).get("days");
    await show(["1", "7", "30"].includes(asked) ? asked : "7");
  }

  start().catch((error) => { $("status").textContent = error.message; });
})();
