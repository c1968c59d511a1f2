/* Web monitoring charts (ECharts): the overview's and one endpoint's, from one JSON call
   per page. Every chart says when it has no data; a failed call says so above the charts. */
(function () {
  "use strict";
  const table = document.getElementById("endpoints-table");
  if (table && window.DataTable) new DataTable(table, { pageLength: 25, order: [[5, "desc"]] });

  const holder = document.getElementById("overview-charts") || document.getElementById("endpoint-charts");
  if (!holder) return;
  const error = document.getElementById("chart-error");
  const charts = {};
  holder.querySelectorAll("[data-chart]").forEach(function (el) {
    charts[el.dataset.chart] = echarts.init(el);
  });
  window.heronCharts = charts;
  window.addEventListener("resize", function () { Object.values(charts).forEach(function (c) { c.resize(); }); });

  function ms(v) {
    if (v === null || v === undefined) return "—";
    if (v < 1) return (v * 1000).toFixed(0) + " µs";
    if (v < 1000) return v.toFixed(1) + " ms";
    return (v / 1000).toFixed(2) + " s";
  }
  function when(t, tz) {
    return heron.time(t, tz, "short");
  }
  function empty(chart, text) {
    chart.clear();
    chart.setOption({ title: { text: text, left: "center", top: "middle", textStyle: { fontSize: 13, color: "#6c757d" } } });
  }
  const base = { animation: false, grid: { left: 64, right: 20, top: 30, bottom: 60 } };
  /* An endpoint's (or version's) colour: config COLORS when it names one, else a hue hashed
     from the name, so a name keeps its colour on every chart and every visit. */
  const fixed = JSON.parse(holder.dataset.colors || "{}");
  function colorOf(name) {
    if (fixed[name]) return fixed[name];
    let h = 0;
    for (const ch of String(name)) h = (h * 31 + ch.codePointAt(0)) >>> 0;
    return "hsl(" + (h % 360) + ", 62%, 45%)";
  }
  /* A status code's colour by its class, the same on every page: 2xx green, 3xx blue,
     4xx amber, 5xx red; codes of one class in lighter or darker shades of it. */
  const STATUS_HUES = { 2: [140, 50], 3: [215, 60], 4: [40, 95], 5: [355, 70] };
  function statusColor(code) {
    const n = parseInt(code, 10) || 0;
    const [hue, sat] = STATUS_HUES[Math.floor(n / 100)] || [0, 0];
    return "hsl(" + hue + ", " + sat + "%, " + (38 + (n % 100) % 4 * 8) + "%)";
  }
  const esc = function (text) { return echarts.format.encodeHTML(String(text)); };

  function boxes(chart, data, axisName) {
    const names = Object.keys(data);
    if (!names.length) return empty(chart, "No requests in this time window");
    chart.setOption(Object.assign({}, base, {
      tooltip: { trigger: "item", formatter: function (p) {
        const v = p.value.slice(-5);
        return esc(p.name) + "<br>p5 " + ms(v[0]) + "<br>p25 " + ms(v[1]) + "<br>median " + ms(v[2]) + "<br>p75 " + ms(v[3]) + "<br>p95 " + ms(v[4]);
      } },
      xAxis: { type: "category", data: names, name: axisName, nameLocation: "middle", nameGap: 40, axisLabel: { interval: 0, rotate: names.length > 4 ? 30 : 0 } },
      yAxis: { type: "log", name: "duration (ms)", logBase: 10 },
      series: [{ type: "boxplot", data: names.map(function (n) {
        const q = data[n];
        // a log axis has no 0: an instant request is drawn at 1 µs
        const v = [q.p5, q.p25, q.p50, q.p75, q.p95].map(function (x) { return Math.max(x, 0.001); });
        return { value: v, itemStyle: { borderColor: colorOf(n), color: "transparent" } };
      }) }],
    }), true);
  }

  /* [ms, value] points of a line, with a break (null) wherever buckets of ``step`` seconds
     have no data: a line never bridges an empty stretch of the window. */
  function gapped(points, valueIndex, step) {
    const out = [];
    points.forEach(function (p, i) {
      if (step && i && p[0] - points[i - 1][0] > step) out.push([(points[i - 1][0] + step) * 1000, null]);
      out.push([p[0] * 1000, p[valueIndex]]);
    });
    return out;
  }

  function lines(chart, series, tz, valueIndex, yName, formatter, colorFor, type, step) {
    const color = colorFor || colorOf;
    const names = Object.keys(series);
    if (!names.length) return empty(chart, "No requests in this time window");
    chart.setOption(Object.assign({}, base, {
      tooltip: { trigger: "axis", valueFormatter: formatter },
      legend: { type: "scroll", bottom: 0 },
      xAxis: heron.timeAxis(tz),
      yAxis: { type: "value", name: yName },
      series: names.map(function (n) {
        const data = gapped(series[n], valueIndex, type === "bar" ? 0 : step);
        return type === "bar"
          ? { name: n, type: "bar", stack: "total", barMaxWidth: 24, color: color(n), data: data }
          : { name: n, type: "line", showSymbol: false, color: color(n), data: data };
      }),
    }), true);
  }

  /* Requests per bucket as bars stacked by version (left axis), each version's mean
     duration as a dashed line with points (right axis): buckets without requests stay
     empty, never bridged by a line across the window. */
  function loadAndDuration(chart, series, tz, step) {
    const names = Object.keys(series);
    if (!names.length) return empty(chart, "No requests in this time window");
    const count = function (v) { return Number(v).toLocaleString(); };
    chart.setOption(Object.assign({}, base, {
      grid: { left: 64, right: 64, top: 30, bottom: 60 },
      tooltip: { trigger: "axis", valueFormatter: function (v) { return v; } },
      legend: { type: "scroll", bottom: 0 },
      xAxis: heron.timeAxis(tz),
      yAxis: [{ type: "value", name: "requests per " + (step >= 3600 ? step / 3600 + " h" : step / 60 + " min"), minInterval: 1 },
              { type: "value", name: "mean duration (ms)", splitLine: { show: false } }],
      series: [].concat(names.map(function (n) {
        return { name: n + " requests", type: "bar", stack: "load", barMaxWidth: 24, color: colorOf(n),
                 tooltip: { valueFormatter: count },
                 data: series[n].map(function (p) { return [p[0] * 1000, p[1]]; }) };
      }), names.map(function (n) {
        return { name: n + " mean duration", type: "line", yAxisIndex: 1, symbolSize: 5,
                 lineStyle: { type: "dashed" }, color: colorOf(n), connectNulls: false,
                 tooltip: { valueFormatter: ms },
                 data: gapped(series[n], 2, step) };
      })),
    }), true);
  }

  function bubbles(chart, data, what) {
    const rows = data.rows;
    if (!rows.length) return empty(chart, "No requests with a " + what + " in this time window");
    const versions = Array.from(new Set(rows.map(function (r) { return r.version || "(none)"; })));
    const keys = Array.from(new Set(rows.map(function (r) { return r.key; }))).slice(0, 40);
    const most = Math.max.apply(null, rows.map(function (r) { return r.count; }));
    chart.setOption(Object.assign({}, base, {
      grid: { left: 110, right: 20, top: 30, bottom: 60 },
      tooltip: { formatter: function (p) { return esc(p.data[3]) + " · version " + esc(p.data[4]) + "<br>" + p.data[2] + " requests, mean " + ms(p.data[5]); } },
      xAxis: { type: "category", data: versions, name: "version", nameLocation: "middle", nameGap: 26 },
      yAxis: { type: "category", data: keys, name: what },
      series: [{ type: "scatter", symbolSize: function (v) { return 6 + 30 * Math.sqrt(v[2] / most); },
        data: rows.filter(function (r) { return keys.indexOf(r.key) >= 0; }).map(function (r) {
          return [versions.indexOf(r.version || "(none)"), keys.indexOf(r.key), r.count, r.key, r.version || "(none)", r.mean_ms];
        }) }],
    }), true);
  }

  function overview(d) {
    const days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const cells = [];
    let top = 0;
    d.heatmap.forEach(function (row, day) { row.forEach(function (n, hour) { cells.push([hour, day, n]); top = Math.max(top, n); }); });
    charts.heatmap.setOption(Object.assign({}, base, {
      tooltip: { formatter: function (p) { return days[p.data[1]] + " " + p.data[0] + ":00 (" + d.timezone + ")<br>" + p.data[2].toLocaleString() + " requests"; } },
      xAxis: { type: "category", data: Array.from({ length: 24 }, function (_, h) { return String(h); }), name: "hour (" + d.timezone + ")", nameLocation: "middle", nameGap: 26 },
      yAxis: { type: "category", data: days },
      visualMap: { min: 0, max: Math.max(1, top), orient: "horizontal", left: "center", bottom: 0, itemHeight: 80, calculable: false },
      grid: { left: 50, right: 20, top: 20, bottom: 80 },
      series: [{ type: "heatmap", data: cells }],
    }), true);
    lines(charts.daily, d.daily.series, d.timezone, 1, "requests per " + (d.daily.step >= 86400 ? "day" : "hour"), function (v) { return Number(v).toLocaleString(); }, null, "bar");
    const endpoints = Object.keys(d.by_endpoint_version);
    const versions = Array.from(new Set([].concat.apply([], endpoints.map(function (e) { return Object.keys(d.by_endpoint_version[e]); }))));
    if (!versions.length) empty(charts.versions, "No requests in this time window");
    else charts.versions.setOption(Object.assign({}, base, {
      tooltip: { trigger: "axis" }, legend: { type: "scroll", bottom: 0 },
      xAxis: { type: "category", data: endpoints, axisLabel: { interval: 0, rotate: endpoints.length > 4 ? 30 : 0 } },
      yAxis: { type: "value", name: "requests" },
      series: versions.map(function (v) { return { name: "version " + v, type: "bar", stack: "v", color: colorOf(v), data: endpoints.map(function (e) { return d.by_endpoint_version[e][v] || 0; }) }; }),
    }), true);
    boxes(charts.boxes, d.boxes, "endpoint");
    versionShares(charts["version-shares"], d.by_endpoint_version);
  }

  /* Requests per hour of the day (0-23) in TIMEZONE: when in the day an endpoint is used. */
  function hoursOfDay(chart, hours, tz) {
    if (!hours.some(function (n) { return n > 0; })) return empty(chart, "No requests in this time window");
    chart.setOption(Object.assign({}, base, {
      tooltip: { trigger: "axis", valueFormatter: function (v) { return Number(v).toLocaleString() + " requests"; } },
      xAxis: { type: "category", data: hours.map(function (_, h) { return (h < 10 ? "0" : "") + h + ":00"; }),
               name: "hour of the day (" + tz + ")", nameLocation: "middle", nameGap: 26 },
      yAxis: { type: "value", name: "requests", minInterval: 1 },
      series: [{ name: "requests", type: "bar", color: "#0d6efd", data: hours }],
    }), true);
  }

  /* Each endpoint's requests split by version, in percent of the endpoint's requests. */
  function versionShares(chart, byEndpoint) {
    const endpoints = Object.keys(byEndpoint).filter(function (e) {
      return Object.values(byEndpoint[e]).some(function (n) { return n > 0; });
    });
    const versions = Array.from(new Set([].concat.apply([], endpoints.map(function (e) { return Object.keys(byEndpoint[e]); }))));
    if (!versions.length) return empty(chart, "No requests in this time window");
    const totals = {};
    endpoints.forEach(function (e) { totals[e] = Object.values(byEndpoint[e]).reduce(function (a, b) { return a + b; }, 0); });
    chart.setOption(Object.assign({}, base, {
      tooltip: { trigger: "axis", valueFormatter: function (v) { return Number(v).toFixed(1) + "%"; } },
      legend: { type: "scroll", bottom: 0 },
      xAxis: { type: "category", data: endpoints, axisLabel: { interval: 0, rotate: endpoints.length > 4 ? 30 : 0 } },
      yAxis: { type: "value", name: "% of the endpoint's requests", max: 100 },
      series: versions.map(function (v) {
        return { name: "version " + v, type: "bar", stack: "share", color: colorOf(v),
                 data: endpoints.map(function (e) { return totals[e] ? 100 * (byEndpoint[e][v] || 0) / totals[e] : 0; }) };
      }),
    }), true);
  }

  function endpoint(d) {
    loadAndDuration(charts.load, d.load.series, d.timezone, d.step);
    const statuses = {};
    Object.keys(d.statuses).forEach(function (s) { statuses[s] = d.statuses[s]; });
    lines(charts.statuses, statuses, d.timezone, 1, "requests", function (v) { return Number(v).toLocaleString(); }, statusColor, "line", d.step);
    boxes(charts["version-boxes"], d.versions, "version");
    boxes(charts["user-boxes"], d.user_boxes, "user (group_by)");
    hoursOfDay(charts.hours, d.hours, d.timezone);
    bubbles(charts.users, d.users, "user (group_by)");
    bubbles(charts.ips, d.ips, "IP address");
    const tree = d.grouped.tree;
    if (!d.grouped.requests) empty(charts.sunburst, "No profiled requests (level 3) in this time window");
    else charts.sunburst.setOption({
      animation: false,
      tooltip: { formatter: function (p) { return esc(p.data.name || "") + "<br>" + ms(p.data.value) + (p.data.code ? "<br><code>" + echarts.format.encodeHTML(p.data.code) + "</code>" : ""); } },
      series: [{ type: "sunburst", radius: ["10%", "95%"], data: tree.children, label: { show: false }, emphasis: { focus: "ancestor" } }],
    }, true);
    const body = document.querySelector("#grouped-lines tbody");
    if (body) {
      body.replaceChildren.apply(body, d.grouped.lines.slice(0, 50).map(function (l) {
        return heron.el("tr", {}, [heron.el("td", {}, [heron.el("code", { text: l.line }), document.createTextNode(" " + l.code)]),
          heron.el("td", { class: "text-end heron-num", text: ms(l.total_ms) }), heron.el("td", { class: "text-end heron-num", text: ms(l.self_ms) })]);
      }));
    }
  }

  function load() {
    fetch(holder.dataset.api, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) return r.json().then(function (b) { throw new Error(b.error || ("server answered " + r.status)); }); return r.json(); })
      .then(function (d) { error.hidden = true; (holder.id === "overview-charts" ? overview : endpoint)(d); holder.dataset.drawn = "1"; })
      .catch(function (err) { error.hidden = false; error.textContent = "Could not load the charts: " + err.message; });
  }
  load();
  heron.poll(function () { return holder.dataset.api; }, 15000, function (d) { (holder.id === "overview-charts" ? overview : endpoint)(d); });
})();
