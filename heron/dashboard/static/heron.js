/* heron's shared page behaviour: the live indicator, pause, and polling with reconnect. */
(function () {
  "use strict";
  const live = document.getElementById("heron-live");
  const pause = document.getElementById("heron-pause");
  let paused = false;
  const listeners = [];

  /* The live indicator and Pause show only on a page that updates itself (it polls or
     subscribes); a page that does not has neither, rather than a grey "Not live". */
  function reveal() {
    if (live) live.hidden = false;
    if (pause) pause.hidden = false;
  }

  function setState(state, text) {
    if (!live) return;
    live.dataset.state = state;
    live.querySelector(".heron-live-text").textContent = text;
  }

  if (pause) {
    pause.addEventListener("click", function () {
      paused = !paused;
      pause.setAttribute("aria-pressed", String(paused));
      pause.querySelector("span").textContent = paused ? "Resume" : "Pause";
      pause.querySelector("i").className = paused ? "bi bi-play-fill" : "bi bi-pause-fill";
      setState(paused ? "paused" : "live", paused ? "Paused" : "Live");
      if (!paused) listeners.forEach(function (fn) { fn(); });
    });
  }

  /* Poll url every interval ms while not paused; onData gets the parsed JSON.
     A failed call says so in the indicator (and to onError) and is retried with backoff. */
  function poll(url, interval, onData, onError) {
    reveal();
    let delay = interval;
    let timer = null;
    function schedule(ms) { clearTimeout(timer); timer = setTimeout(tick, ms); }
    function tick() {
      if (paused) return;
      fetch(url(), { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (r) {
          if (r.status === 401) { window.location.reload(); throw new Error("logged out"); }
          if (!r.ok) throw new Error("server answered " + r.status);
          return r.json();
        })
        .then(function (data) {
          delay = interval;
          setState("live", "Live");
          onData(data);
          schedule(delay);
        })
        .catch(function (err) {
          delay = Math.min(delay * 2, 30000);
          setState("error", "Connection lost — retrying");
          if (onError) onError(err);
          schedule(delay);
        });
    }
    listeners.push(function () { schedule(0); });
    setState("live", "Live");
    schedule(interval);
  }

  /* Server-sent events: call onChange for each "change" event while not paused (a change
     seen while paused is delivered on resume). The browser reconnects by itself; after
     three failures in a row without a message, fallback() takes over (e.g. polling). */
  function subscribe(url, onChange, fallback) {
    reveal();
    if (!window.EventSource) { fallback(); return; }
    let failures = 0;
    let pending = false;
    const source = new EventSource(url, { withCredentials: true });
    source.addEventListener("change", function () {
      failures = 0;
      setState("live", "Live");
      if (paused) { pending = true; return; }
      onChange();
    });
    source.addEventListener("open", function () { setState("live", "Live"); });
    source.addEventListener("error", function () {
      if (source.readyState === EventSource.CONNECTING) return;  // normal end of a stream
      failures += 1;
      setState("error", "Connection lost — retrying");
      if (failures >= 3) { source.close(); fallback(); }
    });
    listeners.push(function () { if (pending) { pending = false; onChange(); } });
    return source;
  }

  function ago(ts, now) {
    if (ts === null || ts === undefined) return "never";
    const d = Math.max(0, now - ts);
    if (d < 60) return Math.floor(d) + " s ago";
    if (d < 3600) return Math.floor(d / 60) + " min ago";
    if (d < 86400) return Math.floor(d / 3600) + " h ago";
    return Math.floor(d / 86400) + " d ago";
  }

  /* Epoch seconds as text in the zone the top bar names, one format everywhere: ISO dates
     and 24-hour times, whatever the browser's locale ("2026-12-02 09:58"). `part` is
     "datetime" (default), "date", "time" or "short" (month-day and time). */
  const formatters = {};
  function time(epoch, tz, part) {
    const key = tz || "";
    if (!formatters[key]) {
      formatters[key] = new Intl.DateTimeFormat("en-CA", {
        timeZone: tz || undefined, year: "numeric", month: "2-digit", day: "2-digit",
        hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    }
    const p = {};
    formatters[key].formatToParts(new Date(epoch * 1000)).forEach(function (x) { p[x.type] = x.value; });
    const date = p.year + "-" + p.month + "-" + p.day, clock = p.hour + ":" + p.minute;
    if (part === "date") return date;
    if (part === "time") return clock;
    if (part === "short") return p.month + "-" + p.day + " " + clock;
    return date + " " + clock;
  }

  /* An ECharts time axis whose labels, crosshair and tooltip header read in ``tz`` (the
     dashboard's TIMEZONE, which the axis name says), whatever the browser's own zone:
     ECharts would format a time axis in the browser's zone. Midnight ticks show the date. */
  function timeAxis(tz, extra) {
    const label = function (ms) {
      const full = time(ms / 1000, tz);
      return full.endsWith(" 00:00") ? full.slice(0, 10) : full.slice(11);
    };
    return Object.assign({
      type: "time", name: "time (" + tz + ")", nameLocation: "middle", nameGap: 26,
      axisLabel: { hideOverlap: true, formatter: label },
      axisPointer: { label: { formatter: function (p) { return time(p.value / 1000, tz); } } },
    }, extra || {});
  }

  /* Build an element with text content only: nothing from data is parsed as HTML. */
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(function ([k, v]) {
      if (k === "text") node.textContent = v;
      else node.setAttribute(k, v);
    });
    (children || []).forEach(function (c) { node.appendChild(c); });
    return node;
  }

  window.heron = { poll: poll, subscribe: subscribe, ago: ago, el: el, time: time, timeAxis: timeAxis,
                   isPaused: function () { return paused; } };
})();
