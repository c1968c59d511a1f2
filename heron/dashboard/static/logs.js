/* The Logs tab: lines drawn from JSON as text nodes only (a log line can never become
   markup), newest first; older pages on demand; new matching lines pushed in live by
   server-sent events (polling when those fail), held while paused, without moving what
   the reader is looking at. */
(function () {
  "use strict";
  const page = document.getElementById("logs-page");
  if (!page) return;
  const box = document.getElementById("log-lines");
  const empty = document.getElementById("log-empty");
  const older = document.getElementById("log-older");
  const count = document.getElementById("log-count");
  const fresh = document.getElementById("log-new");
  const failure = document.getElementById("log-failure");
  const query = page.dataset.query;
  let newest = null;   // seq of the newest line shown (or the store's newest at load)
  let oldest = null;   // seq of the oldest line shown
  let shown = 0;
  let arrived = 0;

  function api(extra) {
    return page.dataset.api + "?" + [query, extra].filter(Boolean).join("&");
  }
  function get(url) {
    return fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (body) {
          if (!r.ok) throw new Error(body.error || ("server answered " + r.status));
          return body;
        });
      });
  }
  function pathLink(base, id) {
    return base + "/" + encodeURIComponent(id).replace(/%2F/g, "/");
  }

  function row(l, isNew) {
    const links = [];
    if (l.request_id && l.request_id === l.run_id) {
      // a line written inside an OpenTelemetry span: its request or its run, found on click
      links.push(heron.el("a", { href: pathLink(page.dataset.spans, l.request_id), text: "span", title: "Span " + l.request_id + ": its request or run" }));
    } else if (l.request_id) links.push(heron.el("a", { href: pathLink(page.dataset.requests, l.request_id), text: "request", title: "Request " + l.request_id + ": its record and every line" }));
    if (l.run_id && l.run_id !== l.request_id) links.push(heron.el("a", { href: pathLink(page.dataset.runs + "/r", l.run_id), text: "run", title: "Run " + l.run_id }));
    if (l.session_id) links.push(heron.el("a", { href: pathLink(page.dataset.sessions, l.session_id), text: "session", title: "Session " + l.session_id }));
    const body = [heron.el("span", { class: "heron-msg", text: l.message })];
    if (links.length) body.push(heron.el("span", { class: "heron-links ms-2" }, links));
    if (l.exc_text) {
      body.push(heron.el("details", {}, [heron.el("summary", { class: "small", text: "stack trace" }), heron.el("pre", { text: l.exc_text })]));
    }
    const where = l.pathname ? l.pathname + (l.lineno ? ":" + l.lineno : "") : "";
    return heron.el("div", { class: "heron-logrow" + (isNew ? " heron-new" : ""), "data-level": String(Math.min(50, Math.floor(l.level / 10) * 10)), "data-seq": String(l.seq) }, [
      heron.el("time", { text: l.time, datetime: new Date(l.ts * 1000).toISOString() }),
      heron.el("span", { class: "heron-lvl", text: l.level_name }),
      heron.el("span", { class: "text-body-secondary text-truncate", text: l.app + " · " + l.logger, title: l.app + " · " + l.logger + (where ? "\n" + where : "") + (l.thread ? "\nthread " + l.thread : "") }),
      heron.el("div", {}, body),
    ]);
  }

  function showCount() {
    count.textContent = shown ? shown.toLocaleString() + " line" + (shown === 1 ? "" : "s") + " shown" : "";
    empty.hidden = shown > 0;
  }

  function addOlder(data) {
    data.lines.forEach(function (l) {
      box.appendChild(row(l, false));
      oldest = oldest === null ? l.seq : Math.min(oldest, l.seq);
      newest = newest === null ? l.seq : Math.max(newest, l.seq);
    });
    shown += data.lines.length;
    older.hidden = !data.more;
    showCount();
  }

  function addNew(data) {
    if (!data.lines.length) return;
    const before = box.getBoundingClientRect().height;
    const reading = window.scrollY > box.offsetTop + 40;  // scrolled into the list
    data.lines.forEach(function (l) {  // oldest first: each goes on top
      box.insertBefore(row(l, true), box.firstChild);
      newest = Math.max(newest || 0, l.seq);
      if (oldest === null) oldest = l.seq;
    });
    shown += data.lines.length;
    arrived += data.lines.length;
    if (reading) window.scrollBy(0, box.getBoundingClientRect().height - before);
    fresh.hidden = false;
    fresh.textContent = "· " + arrived.toLocaleString() + " new since the page opened";
    showCount();
  }

  function fail(err) {
    failure.hidden = false;
    failure.textContent = "Could not load log lines: " + err.message;
  }

  function fetchNew() {
    return get(api("after=" + (newest || 0) + "&limit=1000")).then(function (d) { failure.hidden = true; addNew(d); }).catch(fail);
  }

  if (page.dataset.error) { empty.hidden = true; return; }
  older.addEventListener("click", function () {
    older.disabled = true;
    get(api("before=" + oldest)).then(addOlder).catch(fail).finally(function () { older.disabled = false; });
  });
  get(api("")).then(function (d) {
    addOlder(d);
    if (newest === null) newest = d.newest;  // nothing matched yet: follow from here
    page.dataset.loaded = "1";
    const stream = page.dataset.stream + "?" + [query, "after=" + newest].filter(Boolean).join("&");
    heron.subscribe(stream, fetchNew, function () {
      heron.poll(function () { return api("after=" + (newest || 0) + "&limit=1000"); }, 3000, addNew, fail);
    });
  }).catch(fail);
})();
