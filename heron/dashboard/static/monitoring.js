/* Monitoring: the experiment's network graph, redrawn in place when the server says the
   experiment changed (server-sent events; polling every 5 s if the stream is unavailable).

   Layout: each network is a cluster of its own, laid out side by side (wrapping into lines
   when there are many): its box on top, with its id, role and size, and its nodes in a grid
   under it, each info beside its node; vectors and transmissions are arrows between nodes.
   Places follow the order the server sends, so a record arriving later takes the next free
   place and nothing drawn moves. Ids show on hover. Above the server's node budget the
   networks come closed (one box each, with its node count); clicking one opens it. */
(function () {
  "use strict";
  const box = document.getElementById("network-graph");
  const message = document.getElementById("graph-message");
  const details = document.getElementById("node-details");
  const form = document.getElementById("graph-filters");
  const palette = ["#0d6efd", "#6f42c1", "#fd7e14", "#20c997", "#d63384", "#0dcaf0", "#6c757d"];
  const typeColour = {};
  const expanded = new Set(box.dataset.expand ? [box.dataset.expand] : []);
  let focus = box.dataset.focus || null;  // a record to select once drawn (from a Database row)
  function colourOf(type) {
    if (!(type in typeColour)) typeColour[type] = palette[Object.keys(typeColour).length % palette.length];
    return typeColour[type];
  }
  const nodes = new vis.DataSet();
  const edges = new vis.DataSet();
  const options = Object.assign({
    interaction: { hover: true },
    physics: { solver: "forceAtlas2Based", stabilization: { iterations: 150, updateInterval: 50 } },
    nodes: { font: { size: 12 } },
  }, JSON.parse(box.dataset.options || "{}"));
  const network = new vis.Network(box, { nodes: nodes, edges: edges }, options);
  network.setOptions({ physics: false });  // place() lays everything out
  window.heronGraph = network;
  let drawn = false, refit = true;
  function applyFocus() {
    if (!drawn || !focus || !nodes.get(focus)) return;
    const id = focus;
    focus = null;
    select(id);
  }
  /* Ids on the drawing while the pointer is on an item (a tooltip adds the type). */
  network.on("hoverNode", function (p) {
    const n = nodes.get(p.node);
    if (n && n.hoverLabel) nodes.update({ id: n.id, label: n.hoverLabel });
  });
  network.on("blurNode", function (p) {
    const n = nodes.get(p.node);
    if (n && n.hoverLabel) nodes.update({ id: n.id, label: " " });
  });

  function text(value) { return String(value); }  // vis-network draws text on a canvas: no HTML

  const SLOT = 56, PER_ROW = 4;  // a network's nodes: four a row, 56 px apart
  const COLUMN = SLOT * PER_ROW + 70;  // one network's width, with the gap to the next
  /* x, y of every network box, node and info. */
  function place(data) {
    const at = {};
    const members = {};
    data.nodes.forEach(function (n) {
      const key = n.network_id ? "Network:" + n.network_id : "Network:";
      (members[key] = members[key] || []).push("Node:" + n.node_id);
    });
    const boxes = data.networks.map(function (n) { return "Network:" + n.network_id; });
    if (members["Network:"]) boxes.push("Network:");  // nodes in no network: a column too
    const perLine = Math.max(3, Math.ceil(Math.sqrt(boxes.length * 2)));
    let top = 0, lineHeight = 0;
    boxes.forEach(function (id, i) {
      if (i && i % perLine === 0) { top += lineHeight + 90; lineHeight = 0; }
      const x = (i % perLine) * COLUMN;
      at[id] = { x: x, y: top };
      const inside = members[id] || [];
      inside.forEach(function (nodeId, k) {
        at[nodeId] = { x: x - (PER_ROW - 1) * SLOT / 2 + (k % PER_ROW) * SLOT,
                       y: top + 70 + Math.floor(k / PER_ROW) * SLOT };
      });
      lineHeight = Math.max(lineHeight, 70 + Math.ceil(inside.length / PER_ROW) * SLOT);
    });
    const beside = {};
    data.infos.forEach(function (i) {
      const origin = at["Node:" + i.origin_id];
      if (!origin) return;
      const k = beside[i.origin_id] = (beside[i.origin_id] || 0) + 1;
      at["Info:" + i.info_id] = { x: origin.x + 14 + 8 * (k - 1), y: origin.y + 16 };
    });
    return at;
  }

  function build(data) {
    const wantN = [], wantE = [];
    if (data.nodes.some(function (n) { return !n.network_id; })) {
      wantN.push({ id: "Network:", label: "no network", shape: "box", margin: 8, object: null,
        color: { background: "#f8f9fa", border: "#adb5bd" } });
    }
    data.networks.forEach(function (n) {
      const open = !data.clustered || expanded.has(String(n.network_id));
      const size = n.node_count + (n.node_count === 1 ? " node" : " nodes");
      wantN.push({ id: "Network:" + n.network_id,
        label: text("network " + n.network_id + "\n" + n.role + " · " + size + (open ? "" : " ▸ open")),
        shape: "box", borderWidth: open ? 1 : 2, margin: 8,
        color: { background: n.failed ? "#f8d7da" : (open ? "#e7f1ff" : "#9ec5fe"),
                 border: n.failed ? "#dc3545" : "#0d6efd" },
        shapeProperties: { borderDashes: n.failed ? [4, 4] : false },
        title: text(open ? "network " + n.network_id + " (" + n.role + "), " + size
                         : "Click to open this network's " + size),
        object: ["Network", n.network_id], cluster: !open, network_id: String(n.network_id) });
    });
    data.nodes.forEach(function (n) {
      wantN.push({ id: "Node:" + n.node_id, label: " ", hoverLabel: text(n.node_id), shape: "dot", size: 10,
        color: { background: colourOf(n.type), border: n.failed ? "#dc3545" : colourOf(n.type) },
        borderWidth: n.failed ? 3 : 1, shapeProperties: { borderDashes: n.failed ? [3, 3] : false },
        title: text("node " + n.node_id + " · " + n.type + (n.failed ? " (failed)" : "")),
        object: ["Node", n.node_id] });
    });
    data.infos.forEach(function (i) {
      wantN.push({ id: "Info:" + i.info_id, label: " ", hoverLabel: text(i.contents || i.info_id),
        shape: "diamond", size: 6, color: i.failed ? "#dc3545" : "#adb5bd",
        title: text("info " + i.info_id + (i.failed ? " (failed)" : "")), object: ["Info", i.info_id] });
    });
    data.vectors.forEach(function (v) {
      wantE.push({ id: "Vector:" + v.vector_id, from: "Node:" + v.origin_id, to: "Node:" + v.destination_id, arrows: "to",
        color: { color: v.failed ? "#dc3545" : "#495057" } });
    });
    data.trans.forEach(function (t) {
      wantE.push({ id: "Transmission:" + t.transmission_id, from: "Node:" + t.origin_id, to: "Node:" + t.destination_id, arrows: "to",
        dashes: true, color: { color: t.status === "received" ? "#198754" : "#adb5bd" } });
    });
    const known = new Set(wantN.map(function (n) { return n.id; }));
    const edgesOk = wantE.filter(function (e) { return known.has(e.from) && known.has(e.to); });
    // every item at its place (stable as records arrive); what is gone is removed
    const at = place(data);
    wantN.forEach(function (n) { Object.assign(n, at[n.id] || {}); });
    nodes.remove(nodes.getIds().filter(function (id) { return !known.has(id); }));
    nodes.update(wantN);
    const edgeIds = new Set(edgesOk.map(function (e) { return e.id; }));
    edges.remove(edges.getIds().filter(function (id) { return !edgeIds.has(id); }));
    edges.update(edgesOk);
    describe(data);
    if (refit) { network.fit(); refit = false; }
    drawn = true;
    box.dataset.ready = "1";
    applyFocus();
  }

  function describe(data) {
    const notes = [];
    if (data.total_networks > data.networks.length) {
      notes.push("Showing " + data.networks.length.toLocaleString() + " of " + data.total_networks.toLocaleString() + " networks (top-N).");
    }
    if (data.clustered) {
      notes.push(data.total_nodes.toLocaleString() + " nodes in " + data.networks.length.toLocaleString() +
        " networks: each network is drawn as one box; click one to open it, or narrow the search.");
    }
    if (data.truncated) notes.push("Showing the first " + data.nodes.length.toLocaleString() + " nodes of the opened networks.");
    message.hidden = notes.length === 0;
    message.className = "alert alert-info py-1";
    message.textContent = notes.join(" ");
    document.getElementById("graph-counts").textContent = data.networks.length.toLocaleString() + " networks, " +
      data.nodes.length.toLocaleString() + " nodes drawn";
    const legend = document.getElementById("graph-types");  // node types, in their colours
    legend.replaceChildren.apply(legend, Array.from(new Set(data.nodes.map(function (n) { return n.type; })))
      .map(function (t) {
        return heron.el("span", { "class": "me-2 text-nowrap", "data-type": t }, [
          heron.el("span", { "class": "heron-swatch", style: "background:" + colourOf(t) }),
          heron.el("span", { text: " " + t })]);
      }));
  }

  function url() {
    const params = new URLSearchParams();
    const role = document.getElementById("role-filter").value;
    const search = document.getElementById("network-search").value.trim();
    const top = document.getElementById("network-top").value;
    if (role) params.append("network_roles", role);
    if (search) params.set("search", search);
    if (top) params.set("top", top);
    params.set("sort", document.getElementById("network-sort").value);
    params.set("failed", document.getElementById("show-failed").checked ? "1" : "0");
    const participant = document.getElementById("participant-filter").value.trim();
    if (participant) params.set("participant", participant);
    expanded.forEach(function (id) { params.append("expand", id); });
    return box.dataset.api + "&" + params.toString();
  }

  let loading = null, again = false;
  function load() {
    if (loading) { again = true; return loading; }  // coalesce bursts of changes
    loading = fetch(url(), { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) {
        if (!r.ok) return r.json().then(function (b) { throw new Error(b.error || ("server answered " + r.status)); });
        return r.json();
      })
      .then(build)
      .catch(function (err) { message.hidden = false; message.className = "alert alert-warning py-1"; message.textContent = "Could not load the graph: " + err.message; })
      .finally(function () { loading = null; if (again) { again = false; load(); } });
    return loading;
  }

  let typing = null;
  form.addEventListener("change", function () { refit = true; load(); });
  form.addEventListener("input", function (ev) {
    if (ev.target.tagName !== "INPUT" || ev.target.type === "checkbox") return;
    clearTimeout(typing);
    typing = setTimeout(function () { refit = true; load(); }, 300);
  });
  form.addEventListener("submit", function (ev) { ev.preventDefault(); load(); });

  function select(id) {
    network.selectNodes([id]);
    network.focus(id, { scale: 1.2, animation: false });
    show(nodes.get(id));
  }

  network.on("click", function (params) {
    if (!params.nodes.length) return;
    const item = nodes.get(params.nodes[0]);
    if (!item || !item.object) return;
    if (item.cluster) { expanded.add(item.network_id); load(); }
    show(item);
  });

  function show(item) {
    if (!item || !item.object) return;
    const href = box.dataset.details.replace("TYPE", encodeURIComponent(item.object[0])).replace("ID", encodeURIComponent(item.object[1]));
    fetch(href, { credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (html) { details.innerHTML = html; })  // the Experiment hook's documented HTML
      .catch(function (err) { details.textContent = "Could not load details: " + err.message; });
  }

  load();
  heron.subscribe(box.dataset.stream, load, function () { heron.poll(url, 5000, build); });
})();
