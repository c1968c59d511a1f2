/* Monitoring: the experiment's network graph, redrawn in place when the server says the
   experiment changed (server-sent events; polling every 5 s if the stream is unavailable).

   Layout: experiment -> network roles -> networks -> nodes, with infos hanging off their
   nodes, vectors and transmissions as arrows. Above the server's node budget the networks
   come as clusters (one box each, with its node count); clicking one opens it. */
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
  let settled = false, settling = false;
  network.on("stabilizationIterationsDone", function () {
    if (!settling) return;
    settling = false;
    network.setOptions({ physics: false });  // what is drawn stays where it is
    network.fit();
    settled = true;
    box.dataset.ready = "1";
    applyFocus();
  });
  function applyFocus() {
    if (!settled || !focus || !nodes.get(focus)) return;
    const id = focus;
    focus = null;
    select(id);
  }
  /* Lay out the first drawing once, then freeze it. A small graph is laid out by physics in
     short batches (the page stays responsive); a large one is placed on a grid at once:
     networks in rows under their role, each opened network's items in a ring around it. */
  function settle() {
    if (settled || settling) return;
    if (nodes.length <= 300) {
      settling = true;
      network.setOptions({ physics: { enabled: true, stabilization: { updateInterval: 10 } } });
      network.stabilize(150);
      return;
    }
    network.setOptions({ physics: false });
    const placed = [];
    const networks = nodes.get({ filter: function (n) { return n.id.indexOf("Network:") === 0; } });
    const columns = Math.max(1, Math.ceil(Math.sqrt(networks.length * 2)));
    placed.push({ id: "experiment", x: (columns * 170) / 2, y: -260 });
    const roles = nodes.get({ filter: function (n) { return n.id.indexOf("Role:") === 0; } });
    roles.forEach(function (r, i) { placed.push({ id: r.id, x: (i + 0.5) * (columns * 170) / roles.length, y: -140 }); });
    const where = {};
    networks.forEach(function (n, i) {
      where[n.id] = { x: (i % columns) * 170, y: Math.floor(i / columns) * 90 };
      placed.push(Object.assign({ id: n.id }, where[n.id]));
    });
    const rings = {};
    nodes.forEach(function (n) {
      const centre = where[n.parent];
      if (!centre) return;
      const k = rings[n.parent] = (rings[n.parent] || 0) + 1;
      const angle = k * 0.9, radius = 45 + 6 * k;
      where[n.id] = { x: centre.x + radius * Math.cos(angle), y: centre.y + radius * Math.sin(angle) };
      placed.push(Object.assign({ id: n.id }, where[n.id]));
    });
    nodes.update(placed);
    network.fit();
    settled = true;
    box.dataset.ready = "1";
    applyFocus();
  }
  window.heronGraph = network;

  function text(value) { return String(value); }  // vis-network draws text on a canvas: no HTML

  /* A new item is placed beside its parent, so additions do not shake the drawing. */
  function near(parentId) {
    if (!settled || !parentId) return {};
    const pos = network.getPositions([parentId])[parentId];
    if (!pos) return {};
    return { x: pos.x + (Math.random() - 0.5) * 120, y: pos.y + 60 + Math.random() * 60 };
  }

  function build(data) {
    const wantN = [], wantE = [];
    const roles = new Set(data.networks.map(function (n) { return n.role; }));
    wantN.push({ id: "experiment", label: text(box.dataset.app || "experiment"), shape: "ellipse",
      color: { background: "#212529", border: "#212529" }, font: { color: "#ffffff" } });
    roles.forEach(function (role) {
      wantN.push({ id: "Role:" + role, label: text(role), shape: "ellipse", color: "#ced4da", object: null });
      wantE.push({ id: "role:" + role, from: "experiment", to: "Role:" + role, color: { color: "#adb5bd" } });
    });
    data.networks.forEach(function (n) {
      const open = !data.clustered || expanded.has(String(n.network_id));
      const size = n.node_count + (n.node_count === 1 ? " node" : " nodes");
      wantN.push({ id: "Network:" + n.network_id,
        label: text("network " + n.network_id + "\n" + n.role + " · " + size + (open ? "" : " ▸")),
        shape: "box", borderWidth: open ? 1 : 2,
        color: { background: n.failed ? "#f8d7da" : (open ? "#e9ecef" : "#cfe2ff"), border: n.failed ? "#dc3545" : "#6c757d" },
        shapeProperties: { borderDashes: n.failed ? [4, 4] : false },
        title: text(open ? "network " + n.network_id : "Click to open this network's " + size),
        object: ["Network", n.network_id], cluster: !open, network_id: String(n.network_id) });
      wantE.push({ id: "in:" + n.network_id, from: "Role:" + n.role, to: "Network:" + n.network_id, color: { color: "#dee2e6" } });
    });
    data.nodes.forEach(function (n) {
      wantN.push({ id: "Node:" + n.node_id, label: text(n.node_id), shape: "dot", size: 10,
        color: { background: colourOf(n.type), border: n.failed ? "#dc3545" : colourOf(n.type) },
        borderWidth: n.failed ? 3 : 1, shapeProperties: { borderDashes: n.failed ? [3, 3] : false },
        title: text(n.type + (n.failed ? " (failed)" : "")), object: ["Node", n.node_id],
        parent: n.network_id ? "Network:" + n.network_id : null });
      if (n.network_id) wantE.push({ id: "member:" + n.node_id, from: "Network:" + n.network_id, to: "Node:" + n.node_id, color: { color: "#dee2e6" } });
    });
    data.infos.forEach(function (i) {
      wantN.push({ id: "Info:" + i.info_id, label: text(i.contents || i.info_id), shape: "diamond", size: 6,
        color: i.failed ? "#dc3545" : "#adb5bd", object: ["Info", i.info_id], parent: i.origin_id ? "Node:" + i.origin_id : null });
      if (i.origin_id) wantE.push({ id: "made:" + i.info_id, from: "Node:" + i.origin_id, to: "Info:" + i.info_id, color: { color: "#ced4da" } });
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
    // update in place: what is already drawn does not move; new items start beside a parent
    nodes.remove(nodes.getIds().filter(function (id) { return !known.has(id); }));
    const fresh = wantN.filter(function (n) { return !nodes.get(n.id); });
    fresh.forEach(function (n) { Object.assign(n, near(n.parent || (n.id.indexOf("Network:") === 0 ? "experiment" : null))); });
    nodes.update(wantN);
    const edgeIds = new Set(edgesOk.map(function (e) { return e.id; }));
    edges.remove(edges.getIds().filter(function (id) { return !edgeIds.has(id); }));
    edges.update(edgesOk);
    describe(data);
    settle();
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
  form.addEventListener("change", function () { load(); });
  form.addEventListener("input", function (ev) {
    if (ev.target.tagName !== "INPUT" || ev.target.type === "checkbox") return;
    clearTimeout(typing);
    typing = setTimeout(load, 300);
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
