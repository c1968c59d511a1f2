/* A session's page: CPU and memory chart, and the log, both following the session live
   while it runs (new log lines are appended; the scroll position is kept). */
(function () {
  "use strict";
  const page = document.getElementById("session-page");
  if (!page) return;
  const logBox = document.getElementById("session-log");
  const state = document.getElementById("log-state");
  const error = document.getElementById("session-error");
  const chart = echarts.init(document.getElementById("resource-chart"));
  window.heronSessionChart = chart;
  window.addEventListener("resize", function () { chart.resize(); });
  const levels = { 10: "DEBUG", 20: "INFO", 30: "WARNING", 40: "ERROR", 50: "CRITICAL" };
  let after = 0;

  function draw(d) {
    if (!d.resources.length) {
      chart.setOption({ title: { text: "No resource samples yet", left: "center", top: "middle", textStyle: { fontSize: 13, color: "#6c757d" } } });
      return;
    }
    chart.setOption({
      animation: false, title: { show: false },
      tooltip: { trigger: "axis" }, legend: { bottom: 0 },
      grid: { left: 55, right: 60, top: 25, bottom: 60 },
      xAxis: heron.timeAxis(d.timezone),
      yAxis: [{ type: "value", name: "CPU %" }, { type: "value", name: "memory (MB)" }],
      series: [
        { name: "CPU % (process and children)", type: "line", showSymbol: false, data: d.resources.map(function (r) { return [r.ts * 1000, r.cpu_percent]; }) },
        { name: "memory, MB (RSS)", type: "line", yAxisIndex: 1, showSymbol: false, data: d.resources.map(function (r) { return [r.ts * 1000, r.rss_bytes / 1048576]; }) },
      ],
    });
  }

  function append(lines) {
    const stick = logBox.scrollTop + logBox.clientHeight >= logBox.scrollHeight - 4;
    lines.forEach(function (l) {
      const row = heron.el("div", { class: "heron-log-line", "data-level": String(l.level) }, [
        heron.el("time", { text: l.time + " " }), heron.el("strong", { text: (levels[l.level] || l.level) + " " }),
        heron.el("span", { class: "text-body-secondary", text: l.logger + ": " }), heron.el("span", { text: l.message })]);
      if (l.exc_text) {
        row.appendChild(heron.el("details", {}, [heron.el("summary", { text: "stack trace" }), heron.el("pre", { text: l.exc_text })]));
      }
      logBox.appendChild(row);
      after = Math.max(after, l.seq);
    });
    if (stick) logBox.scrollTop = logBox.scrollHeight;
  }

  function url() { return page.dataset.api + "?after=" + after; }
  function update(d) {
    error.hidden = true;
    draw(d);
    append(d.log);
    state.textContent = d.running ? "(live)" : "(" + d.outcome + ")";
    page.dataset.loaded = "1";
  }
  fetch(url(), { credentials: "same-origin" })
    .then(function (r) { if (!r.ok) throw new Error("server answered " + r.status); return r.json(); })
    .then(update)
    .catch(function (err) { error.hidden = false; error.textContent = "Could not load the session: " + err.message; });
  heron.poll(url, 3000, update);
})();
