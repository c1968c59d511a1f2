/* Database view: DataTables paged on the server; every cell rendered as text. */
(function () {
  "use strict";
  const el = document.getElementById("db-table-grid");
  const message = document.getElementById("db-message");
  const headers = Array.from(el.querySelectorAll("thead tr:first-child th")).slice(2);
  const names = headers.map(function (th) { return th.textContent; });
  const selected = new Map();
  const table = el.dataset.table;
  const key = table + "_id";
  const text = DataTable.render.text();

  function show(kind, msg) {
    message.hidden = false;
    message.className = "alert alert-" + kind;
    message.textContent = msg;
  }

  const grid = new DataTable(el, {
    serverSide: true,
    processing: true,
    scrollX: true,
    orderCellsTop: true,
    pageLength: 25,
    order: [],
    ajax: {
      url: el.dataset.api,
      error: function (xhr) { show("danger", "Could not load rows: " + (xhr.responseJSON ? xhr.responseJSON.error : xhr.status)); },
    },
    columns: [{
      data: null, orderable: false, searchable: false,
      render: function (row) {
        const id = String(row[key]);
        const box = document.createElement("input");
        box.type = "checkbox";
        box.className = "form-check-input heron-select";
        box.setAttribute("data-id", id);
        box.setAttribute("aria-label", "select " + id);
        if (selected.has(id)) box.setAttribute("checked", "");
        return box.outerHTML;
      },
    }, {
      data: null, orderable: false, searchable: false, className: "text-nowrap",
      render: function (row) {
        const links = row._links || {};
        const out = [];
        if (links.graph) out.push(link(links.graph, "bi-diagram-3", "graph", "Open " + row[key] + " in the network graph"));
        if (links.logs) out.push(link(links.logs, "bi-journal-text", "logs", "Logs mentioning " + row[key]));
        return out.join(" ");
      },
    }].concat(names.map(function (name) {
      return {
        data: name,
        render: function (value, type, row) {
          const shown = row._time && row._time[name];
          if (value !== null && typeof value === "object") value = JSON.stringify(value);
          value = value === null || value === undefined ? "" : value;
          if (type !== "display") return text.display(value, type);
          // One line a row: a long value is cut with an ellipsis, the whole of it on hover.
          const span = document.createElement("span");
          span.className = "heron-cell";
          span.textContent = shown || String(value);  // a time in TIMEZONE, its zone named
          span.title = span.textContent;
          return span.outerHTML;
        },
      };
    })),
  });

  function link(href, icon, label, title) {
    const a = document.createElement("a");
    a.href = href;
    a.className = "heron-row-link small";
    a.title = title;
    a.setAttribute("data-link", label);
    const i = document.createElement("i");
    i.className = "bi " + icon;
    i.setAttribute("aria-hidden", "true");
    a.appendChild(i);
    a.appendChild(document.createTextNode(" " + label));
    return a.outerHTML;
  }

  /* Column visibility, remembered per table in this browser. */
  const hiddenKey = "heron.db.hidden." + table;
  const hidden = new Set(JSON.parse(window.localStorage.getItem(hiddenKey) || "[]"));
  document.querySelectorAll(".heron-colvis").forEach(function (box) {
    const column = grid.column(Number(box.dataset.column));
    if (hidden.has(box.dataset.name)) { box.checked = false; column.visible(false); }
    box.addEventListener("change", function () {
      column.visible(box.checked);
      if (box.checked) hidden.delete(box.dataset.name); else hidden.add(box.dataset.name);
      window.localStorage.setItem(hiddenKey, JSON.stringify(Array.from(hidden)));
    });
  });

  el.addEventListener("change", function (ev) {
    const box = ev.target;
    if (!box.classList || !box.classList.contains("heron-select")) return;
    const id = box.getAttribute("data-id");
    if (box.checked) selected.set(id, { id: id, object_type: table.charAt(0).toUpperCase() + table.slice(1) });
    else selected.delete(id);
  });

  el.querySelectorAll(".heron-col-filters input").forEach(function (input) {
    let timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { grid.column(Number(input.dataset.column)).search(input.value).draw(); }, 300);
    });
  });

  function exportUrl(format) {
    const params = new URLSearchParams({ format: format, search: grid.search() });
    el.querySelectorAll(".heron-col-filters input").forEach(function (input) {
      if (input.value) params.set("col." + names[Number(input.dataset.column) - 2], input.value);
    });
    return el.dataset.export + "&" + params.toString();
  }
  document.getElementById("export-csv").addEventListener("click", function (ev) { ev.preventDefault(); window.location = exportUrl("csv"); });
  document.getElementById("export-json").addEventListener("click", function (ev) { ev.preventDefault(); window.location = exportUrl("json"); });

  document.querySelectorAll(".heron-action").forEach(function (button) {
    button.addEventListener("click", function () {
      const rows = Array.from(selected.values());
      if (!rows.length) { show("warning", "Select rows first."); return; }
      if (!window.confirm(button.dataset.title + ": " + rows.length + " selected " + table + " row(s). Continue?")) return;
      fetch(el.dataset.actionUrl.replace("NAME", encodeURIComponent(button.dataset.action)), {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": el.dataset.csrf },
        body: JSON.stringify({ app: el.dataset.app, data: rows }),
      }).then(function (r) { return r.json().then(function (body) { return [r.ok, body]; }); })
        .then(function ([ok, body]) {
          show(ok ? "success" : "danger", body.message || body.error || "done");
          selected.clear();
          grid.ajax.reload(null, false);
        })
        .catch(function (err) { show("danger", "The action failed: " + err.message); });
    });
  });
})();
