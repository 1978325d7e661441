// qsbackup report: draws an asset's log and dependency graph, and a failure's or skip's members,
// from the JSON in #report-data when their section is opened; filters the asset list. Text
// from the repository only ever goes through textContent, never through HTML parsing.
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("report-data").textContent);
  var SVG = "http://www.w3.org/2000/svg";
  var rows = Array.prototype.slice.call(document.querySelectorAll("#asset-list .asset"));
  var byKey = {};
  rows.forEach(function (row, i) { byKey[row.dataset.key] = i; });
  function S(i) { return i === null || i === undefined ? null : D.str[i]; }
  function words(s) { return String(s).replace(/_/g, " "); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function svg(tag, attrs) {
    var e = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    return e;
  }
  function asset(ref) {
    if (typeof ref === "string" && byKey[ref] !== undefined) ref = byKey[ref];
    if (typeof ref === "number" && rows[ref]) {
      var n = rows[ref].querySelector(".name");
      return { key: rows[ref].dataset.key, name: n ? n.textContent : null };
    }
    return { key: String(ref), name: null };
  }
  function snap(ref) {
    if (typeof ref !== "number") return ref;
    var s = D.snapshots[ref] || {};
    return [s.id, s.started_at];
  }
  // Unix seconds or RFC 3339 in UTC, as `2026-12-02 06:42:33 UTC`.
  function when(t) {
    if (typeof t === "number") t = new Date(t * 1000).toISOString();
    return typeof t === "string" ? t.replace("T", " ").replace(/(\.\d+)?(Z|\+00:00)$/, " UTC") : "";
  }

  function assetLink(ref) {
    var a = asset(ref), link = el("a", "asset-link", a.name ? a.name + " " : "");
    link.href = "#assets";
    link.appendChild(el("code", null, a.key));
    link.addEventListener("click", function (ev) { ev.preventDefault(); openAsset(a.key); });
    return link;
  }

  function openAsset(key) {
    var i = byKey[key];
    if (i === undefined) return;
    var row = rows[i];
    if (row.hidden) { search.value = ""; filter(); }
    row.open = true;
    row.scrollIntoView({ block: "start" });
  }

  function logTable(entries) {
    var t = el("table", "log"), head = el("tr");
    ["snapshot", "started", "what", "summary", "last updated in QuickSight"].forEach(function (h) { head.appendChild(el("th", null, h)); });
    t.appendChild(el("thead")).appendChild(head);
    var body = t.appendChild(el("tbody"));
    entries.forEach(function (e) {
      var s = snap(e[0]), tr = el("tr");
      tr.appendChild(el("td")).appendChild(el("code", null, s[0]));
      tr.appendChild(el("td", null, when(s[1])));
      tr.appendChild(el("td", null, e[1].map(function (k) { return words(S(k)); }).join(", ")));
      var summary = S(e[2]) || "";
      if (e[3] !== null && e[3] !== undefined) summary += " (then named “" + S(e[3]) + "”)";
      var cell = tr.appendChild(el("td", null, summary));
      if (e[5] && e[5].length) {
        var fields = cell.appendChild(el("ul", "fields"));
        e[5].forEach(function (f) { fields.appendChild(el("li", null, S(f))); });
        if (e[6] > e[5].length) fields.appendChild(el("li", "more", (e[6] - e[5].length) + " more changed fields (qsbackup diff shows them all)"));
      }
      tr.appendChild(el("td", null, when(e[4])));
      body.appendChild(tr);
    });
    return t;
  }

  // A graph node: a row index (the node is that asset, as its row shows it) or
  // [key, label, status, type] for an asset with no row.
  function graphNode(n) {
    if (typeof n === "number" && rows[n]) {
      var row = rows[n], a = asset(n), st = row.querySelector("summary .st");
      return { ref: n, key: a.key, name: a.name, status: st ? st.textContent : "", type: row.parentNode.dataset.type || "" };
    }
    return { ref: n[0], key: String(n[0]), name: S(n[1]), status: S(n[2]), type: S(n[3]) };
  }

  function drawGraph(g) {
    var at = g.at;
    var root = svg("svg", { "class": "graph", width: at.w, height: at.h, viewBox: "0 0 " + at.w + " " + at.h, role: "img" });
    at.p.forEach(function (p) {
      var d = "M" + p[0] + " " + p[1] + " C" + p[2] + " " + p[3] + "," + p[4] + " " + p[5] + "," + p[6] + " " + p[7];
      for (var k = 8; k + 3 < p.length; k += 4) d += " S" + p[k] + " " + p[k + 1] + "," + p[k + 2] + " " + p[k + 3];
      root.appendChild(svg("path", { "class": "edge", d: d }));
    });
    g.n.forEach(function (raw, i) {
      var n = graphNode(raw), b = at.b[i];
      var name = n.name || n.key.slice(n.key.indexOf("/") + 1);
      var node = svg("g", { "class": "node " + n.status + (i === 0 ? " root" : ""), "data-key": n.key });
      node.appendChild(svg("title")).textContent = name + " (" + n.key + "): " + n.status;
      node.appendChild(svg("rect", { x: b[0], y: b[1], width: b[2], height: at.nh }));
      var cx = b[0] + b[2] / 2;
      node.appendChild(svg("text", { "class": "ty", x: cx, y: b[1] + 13 })).textContent = n.type + (n.status === "stored" ? "" : " · " + n.status);
      var label = name.length > 28 ? name.slice(0, 27) + "…" : name;
      node.appendChild(svg("text", { "class": "lb", x: cx, y: b[1] + 28 })).textContent = label;
      node.addEventListener("click", function () { openAsset(n.key); });
      root.appendChild(node);
    });
    return root;
  }

  function nodeList(g) {
    var ul = el("ul", "graph-nodes");
    g.n.forEach(function (raw) {
      var n = graphNode(raw), li = ul.appendChild(el("li"));
      li.appendChild(assetLink(n.ref));
      li.appendChild(el("span", "st " + n.status, n.status));
    });
    return ul;
  }

  function fillAsset(row) {
    var i = byKey[row.dataset.key];
    if (row.querySelector(".asset-body") || i === undefined) return;
    var body = el("div", "asset-body"), log = D.logs[i] || [], g = D.graphs[i];
    if (g) {
      body.appendChild(el("h4", null, "Depends on (newest stored definition)"));
      body.appendChild(g.at ? drawGraph(g) : nodeList(g));
    }
    body.appendChild(el("h4", null, "Log"));
    body.appendChild(log.length ? logTable(log) : el("p", "empty", "Nothing recorded."));
    row.appendChild(body);
  }

  // A snapshot's failures by root cause: the root, its message, and a list of what depends on
  // it, filled when opened.
  function fillFailures(ul, i, s) {
    (s.failures || []).forEach(function (f, k) {
      var li = ul.appendChild(el("li", "failure" + (f.acknowledged ? " acknowledged" : "")));
      li.appendChild(assetLink(f.root));
      if (f.root_name !== null && f.root_name !== undefined) li.appendChild(document.createTextNode(" “" + S(f.root_name) + "”"));
      li.appendChild(document.createTextNode(": " + (S(f.message) || "")));
      if (f.acknowledged) { li.appendChild(document.createTextNode(" ")); li.appendChild(el("span", "tag", "acknowledged")); }
      if (f.dependents && f.dependents.length) {
        var d = li.appendChild(el("details", "members"));
        d.appendChild(el("summary", null, f.dependents.length + " assets depend on it"));
        var list = d.appendChild(el("ul", "lazy"));
        list.dataset.i = i;
        list.dataset.failure = k;
      }
    });
  }

  function fillList(ul) {
    if (ul.dataset.filled) return;
    ul.dataset.filled = "1";
    var i = Number(ul.dataset.i);
    var s = D.snapshots[i] || {};
    if (ul.dataset.failures !== undefined) return fillFailures(ul, i, s);
    if (ul.dataset.parts !== undefined) {
      var prefix = ul.dataset.parts + "/";
      (s.account_parts || []).map(S).filter(function (p) { return p && p.indexOf(prefix) === 0; })
        .forEach(function (p) { ul.appendChild(el("li")).appendChild(el("code", null, p)); });
      return;
    }
    var group = ul.dataset.failure !== undefined ? (s.failures || [])[Number(ul.dataset.failure)] : (s.skips || [])[Number(ul.dataset.skip)];
    var list = group ? group.dependents || group.assets : [];
    (list || []).forEach(function (key) { ul.appendChild(el("li")).appendChild(assetLink(key)); });
  }

  document.addEventListener("toggle", function (ev) {
    var d = ev.target;
    if (!d.open) return;
    if (d.classList.contains("asset")) fillAsset(d);
    else d.querySelectorAll(":scope > .body > ul.lazy, :scope > ul.lazy").forEach(fillList);
  }, true);

  function openSnapshot(i) {
    var d = document.getElementById("snap-" + i);
    if (!d) return;
    d.open = true;
    d.scrollIntoView({ block: "start" });
  }
  document.querySelectorAll("#history-chart svg circle").forEach(function (c, i) {
    var s = D.snapshots[i];
    if (!s) return;
    c.appendChild(svg("title")).textContent = s.id + " · " + when(s.started_at);
    c.addEventListener("click", function () { openSnapshot(i); });
  });
  document.addEventListener("click", function (ev) {
    var link = ev.target.closest && ev.target.closest("ul.changes a");
    var code = link && link.querySelector("code");
    if (code) { ev.preventDefault(); openAsset(code.textContent); }
  });
  document.querySelectorAll("a[data-open]").forEach(function (a) {
    a.addEventListener("click", function () { var d = document.getElementById(a.dataset.open); if (d) d.open = true; });
  });

  var search = document.getElementById("search");
  var count = document.getElementById("search-count");
  var hay = rows.map(function (row) {
    var n = row.querySelector(".name");
    return (row.dataset.key + " " + (n ? n.textContent : "")).toLowerCase();
  });
  var groups = Array.prototype.slice.call(document.querySelectorAll("#asset-list .asset-group"));
  function filter() {
    var q = search.value.trim().toLowerCase(), shown = 0;
    rows.forEach(function (row, i) {
      var hit = !q || hay[i].indexOf(q) >= 0;
      if (row.hidden === hit) row.hidden = !hit;
      if (hit) shown++;
    });
    groups.forEach(function (g) { g.hidden = !g.querySelector(".asset:not([hidden])"); });
    count.textContent = q ? shown + " of " + rows.length + " assets" : rows.length + " assets";
  }
  var pending = 0;
  search.addEventListener("input", function () {
    if (pending) return;
    pending = window.requestAnimationFrame(function () { pending = 0; filter(); });
  });
})();
