/* Monitoring: the experiment's network graph, refreshed in place every 5 s. */
(function () {
  "use strict";
  const box = document.getElementById("network-graph");
  const message = document.getElementById("graph-message");
  const details = document.getElementById("node-details");
  const palette = ["#0d6efd", "#6f42c1", "#fd7e14", "#20c997", "#d63384", "#0dcaf0", "#6c757d"];
  const typeColour = {};
  function colourOf(type) {
    if (!(type in typeColour)) typeColour[type] = palette[Object.keys(typeColour).length % palette.length];
    return typeColour[type];
  }
  const nodes = new vis.DataSet();
  const edges = new vis.DataSet();
  const options = Object.assign({
    interaction: { hover: true },
    physics: { stabilization: { iterations: 200 } },
    nodes: { font: { size: 12 } },
  }, JSON.parse(box.dataset.options || "{}"));
  const network = new vis.Network(box, { nodes: nodes, edges: edges }, options);
  network.once("stabilizationIterationsDone", function () { network.setOptions({ physics: false }); network.fit(); });
  window.heronGraph = network;

  function label(text) { return String(text); }  // vis-network draws text on a canvas: no HTML

  function build(data) {
    const wantN = [], wantE = [];
    data.networks.forEach(function (n) {
      wantN.push({ id: "Network:" + n.network_id, label: label("network " + n.network_id + " (" + n.role + ")"),
        shape: "box", color: { background: n.failed ? "#f8d7da" : "#e9ecef", border: n.failed ? "#dc3545" : "#6c757d" },
        shapeProperties: { borderDashes: n.failed ? [4, 4] : false }, object: ["Network", n.network_id] });
    });
    data.nodes.forEach(function (n) {
      wantN.push({ id: "Node:" + n.node_id, label: label(n.node_id), shape: "dot", size: 10,
        color: { background: colourOf(n.type), border: n.failed ? "#dc3545" : colourOf(n.type) },
        borderWidth: n.failed ? 3 : 1, shapeProperties: { borderDashes: n.failed ? [3, 3] : false },
        title: label(n.type + (n.failed ? " (failed)" : "")), object: ["Node", n.node_id] });
      if (n.network_id) wantE.push({ id: "member:" + n.node_id, from: "Network:" + n.network_id, to: "Node:" + n.node_id, color: { color: "#dee2e6" } });
    });
    data.infos.forEach(function (i) {
      wantN.push({ id: "Info:" + i.info_id, label: label(i.contents || i.info_id), shape: "diamond", size: 6,
        color: i.failed ? "#dc3545" : "#adb5bd", object: ["Info", i.info_id] });
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
    // update in place: the layout of what is already drawn does not move
    nodes.remove(nodes.getIds().filter(function (id) { return !known.has(id); }));
    nodes.update(wantN);
    const edgeIds = new Set(edgesOk.map(function (e) { return e.id; }));
    edges.remove(edges.getIds().filter(function (id) { return !edgeIds.has(id); }));
    edges.update(edgesOk);
    message.hidden = !data.truncated;
    if (data.truncated) message.textContent = "Showing the first " + data.nodes.length + " nodes; filter by role or network to see the rest.";
  }

  function url() {
    const params = new URLSearchParams();
    const role = document.getElementById("role-filter").value;
    const net = document.getElementById("network-filter").value.trim();
    if (role) params.append("network_roles", role);
    if (net) params.append("network_ids", net);
    params.set("failed", document.getElementById("show-failed").checked ? "1" : "0");
    return box.dataset.api + "&" + params.toString();
  }

  function load() {
    return fetch(url(), { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error("server answered " + r.status); return r.json(); })
      .then(build)
      .catch(function (err) { message.hidden = false; message.textContent = "Could not load the graph: " + err.message; });
  }

  document.getElementById("graph-filters").addEventListener("change", function () { load(); });
  document.getElementById("network-filter").addEventListener("input", function () { load(); });

  network.on("click", function (params) {
    if (!params.nodes.length) return;
    const item = nodes.get(params.nodes[0]);
    if (!item || !item.object) return;
    const href = box.dataset.details.replace("TYPE", encodeURIComponent(item.object[0])).replace("ID", encodeURIComponent(item.object[1]));
    fetch(href, { credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (html) { details.innerHTML = html; })  // the Experiment hook's documented HTML
      .catch(function (err) { details.textContent = "Could not load details: " + err.message; });
  });

  load();
  heron.poll(url, 5000, build);
})();
