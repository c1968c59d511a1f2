/* Test Monitor charts: per build, the tests run, the pass rate and the total duration; on
   a test's page, its median per build with the fastest and slowest run as a band. Builds
   are categories in the order they ran. */
(function () {
  "use strict";
  const dataNode = document.getElementById("tests-data");
  if (!dataNode) return;
  const d = JSON.parse(dataNode.textContent);
  function escape(text) {  // tooltips are HTML: a build or outcome is text
    const span = document.createElement("span");
    span.textContent = String(text);
    return span.innerHTML;
  }
  function chartOn(id) {
    const node = document.getElementById(id);
    if (!node) return null;
    const chart = echarts.init(node);
    window.addEventListener("resize", function () { chart.resize(); });
    node.dataset.drawn = "1";
    return chart;
  }
  const builds = chartOn("builds-chart");
  if (builds) {
    window.heronBuildsChart = builds;
    builds.setOption({
      animation: false, tooltip: { trigger: "axis" }, legend: { bottom: 0 },
      grid: { left: 55, right: 110, top: 30, bottom: 70 },
      xAxis: { type: "category", name: "build", data: d.builds, axisLabel: { hideOverlap: true } },
      yAxis: [{ type: "value", name: "tests", minInterval: 1 },
              { type: "value", name: "seconds", position: "right" },
              { type: "value", name: "pass %", min: 0, max: 100, position: "right", offset: 55 }],
      series: [
        { name: "tests run", type: "bar", data: d.tests, itemStyle: { color: "#adb5bd" } },
        { name: "total duration (s)", type: "line", yAxisIndex: 1, data: d.total_s },
        { name: "pass rate (%)", type: "line", yAxisIndex: 2, data: d.pass_rate, lineStyle: { type: "dashed" } },
      ],
    });
  }
  const test = chartOn("test-chart");
  if (test) {
    window.heronTestChart = test;
    const spread = d.max.map(function (v, i) { return Math.max(0, v - d.min[i]); });
    test.setOption({
      animation: false, legend: { bottom: 0 },
      tooltip: { trigger: "axis", formatter: function (items) {
        const i = items[0].dataIndex;
        return "build " + escape(d.builds[i]) + "<br>median " + d.median[i] + " ms<br>fastest " +
          d.min[i] + " ms, slowest " + d.max[i] + " ms<br>" + escape(d.outcomes[i]);
      } },
      grid: { left: 60, right: 30, top: 30, bottom: 70 },
      xAxis: { type: "category", name: "build", data: d.builds },
      yAxis: { type: "value", name: "ms" },
      series: [
        { name: "fastest", type: "line", stack: "spread", data: d.min, symbol: "none", lineStyle: { opacity: 0 } },
        { name: "fastest to slowest run", type: "line", stack: "spread", data: spread, symbol: "none",
          lineStyle: { opacity: 0 }, areaStyle: { color: "rgba(13,110,253,0.15)" } },
        { name: "median", type: "line", data: d.median },
      ],
    });
  }
})();
