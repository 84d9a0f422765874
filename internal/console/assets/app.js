// The epiledger console: one page, views by the URL's fragment (#/view/ref),
// every datum from the node's own /v1 API with the console session (cookie
// and CSRF header). It holds no data of its own: a reload asks again, and
// each read of personal data is audited by the node as any API call is.
// Persons appear in links only as "pn:" and their pseudonym, never by a raw
// identifier.
(function () {
  "use strict";

  var state = { session: null, lang: "en" };
  var main = document.getElementById("main");
  var t = window.epiI18n.t;

  // ---- small helpers -------------------------------------------------

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === undefined || v === null || v === false) return;
        if (k === "text") e.textContent = v;
        else if (k === "on") Object.keys(v).forEach(function (ev) { e.addEventListener(ev, v[ev]); });
        else e.setAttribute(k, v === true ? "" : String(v));
      });
    }
    (children || []).forEach(function (c) {
      if (c === null || c === undefined) return;
      e.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return e;
  }

  function esc(s) {
    return String(s === undefined || s === null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function short(h) { return h ? String(h).slice(0, 12) + "…" : ""; }
  function pnRef(pseudonym) { return "pn:" + pseudonym; }
  function who(p) { return p.person || t("unknown.id"); }

  function show(node) {
    main.replaceChildren(node);
  }

  function showError(msg) {
    var box = document.getElementById("error");
    if (!msg) { box.hidden = true; box.textContent = ""; return; }
    box.hidden = false;
    box.textContent = msg;
  }

  function showAudit(h, personal) {
    var box = document.getElementById("audit");
    if (!personal || !h) { box.hidden = true; return; }
    var tx = h.get("Epiledger-Audit-Tx");
    var n = h.get("Epiledger-Audit-Records");
    if (!tx) { box.hidden = true; return; }
    box.hidden = false;
    box.textContent = t("audited", { n: n, tx: short(tx), case: caseRef(), purpose: purpose() });
    box.setAttribute("data-tx", tx);
  }

  function caseRef() { return document.getElementById("case").value.trim(); }
  function purpose() { return document.getElementById("purposeText").value.trim(); }

  function hasRole(need) {
    var r = state.session && state.session.role;
    if (!r) return false;
    if (r === "authority" || r === "administrator") return true;
    if (need === "investigator") return r === "investigator";
    if (need === "auditor") return r === "auditor";
    if (need === "reader") return r === "investigator" || r === "auditor" || r === "node";
    if (need === "intel") return ["investigator", "auditor", "node", "n3", "n2", "n1"].indexOf(r) >= 0;
    return true;
  }

  // api calls the node; personal marks a read of personal data, which
  // needs the case and purpose and shows its audit record.
  function api(method, path, body, personal) {
    var headers = { "Content-Type": "application/json" };
    if (state.session) headers["Epiledger-CSRF"] = state.session.csrf;
    if (personal) {
      headers["Epiledger-Case"] = caseRef();
      headers["Epiledger-Purpose"] = purpose();
    }
    var opts = { method: method, headers: headers, credentials: "same-origin" };
    if (body !== undefined) opts.body = JSON.stringify(body);
    return fetch(path, opts).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (data) {
        if (!resp.ok) {
          var e = data && data.error ? data.error : { code: "http", message: resp.statusText };
          var err = new Error((e.field ? e.field + ": " : "") + e.message);
          err.status = resp.status;
          err.code = e.code;
          throw err;
        }
        showAudit(resp.headers, personal);
        return data;
      });
    });
  }

  // needCase refuses to run a personal view until case and purpose are
  // given; it shows a form that runs it once they are.
  function needCase(run) {
    if (caseRef() && purpose()) return run();
    var f = el("form", { class: "inline", id: "case-form" }, [
      el("p", { text: t("case.needed") }),
      el("button", { type: "submit", class: "primary", text: t("continue") })
    ]);
    f.addEventListener("submit", function (ev) {
      ev.preventDefault();
      if (!caseRef()) { document.getElementById("case").focus(); return; }
      if (!purpose()) { document.getElementById("purposeText").focus(); return; }
      run();
    });
    show(el("div", {}, [el("h1", { text: t("case.title") }), f]));
    document.getElementById(caseRef() ? "purposeText" : "case").focus();
  }

  function fail(err) {
    if (err && err.status === 401) {
      state.session = null;
      renderChrome();
    }
    showError(err && err.message ? err.message : String(err));
    show(el("div", {}, [el("h1", { text: t("error.title") }), el("p", { class: "muted", text: t("error.hint") })]));
  }

  var PAGE_ROWS = 250;

  function table(columns, rows, opts) {
    // columns: [{key, label, get(row) -> string|Node, sort(row) -> value}]
    opts = opts || {};
    var sortKey = opts.sortKey || null, asc = true;
    var tb = el("tbody");
    var head = el("tr", {}, columns.map(function (c) {
      var b = el("button", { type: "button", text: c.label, "aria-label": t("sort.by", { col: c.label }) });
      b.addEventListener("click", function () {
        asc = sortKey === c.key ? !asc : true;
        sortKey = c.key;
        fill();
      });
      return el("th", { scope: "col" }, [b]);
    }));
    // Rows are drawn a page at a time (PAGE_ROWS, then more on demand):
    // a table of 5,000 contacts is on screen at once, and sorting and
    // filtering still work on every row.
    var limit = PAGE_ROWS;
    var more = el("button", { type: "button", class: "more", hidden: true });
    more.addEventListener("click", function () { limit += PAGE_ROWS * 4; fill(); });
    function fill() {
      var list = rows.slice();
      if (sortKey) {
        var col = columns.filter(function (c) { return c.key === sortKey; })[0];
        var get = col.sort || function (r) { return r[col.key]; };
        list.sort(function (a, b) {
          var x = get(a), y = get(b);
          if (x === y) return 0;
          return (x < y ? -1 : 1) * (asc ? 1 : -1);
        });
      }
      var frag = document.createDocumentFragment();
      var total = list.length;
      list = list.slice(0, limit);
      more.hidden = total <= limit;
      more.textContent = t("more.rows", { n: Math.min(PAGE_ROWS * 4, total - limit), shown: list.length, total: total });
      list.forEach(function (r) {
        var tr = document.createElement("tr");
        columns.forEach(function (c) {
          var td = document.createElement("td");
          var v = c.get ? c.get(r) : r[c.key];
          if (v instanceof Node) td.appendChild(v);
          else td.textContent = v === undefined || v === null ? "" : String(v);
          if (c.cls) td.className = c.cls;
          tr.appendChild(td);
        });
        frag.appendChild(tr);
      });
      tb.replaceChildren(frag);
    }
    fill();
    var tab = el("table", { id: opts.id }, [el("thead", {}, [head]), tb]);
    var box = el("div", { class: "table" }, [tab, more]);
    box.refill = function (newRows) { rows = newRows; limit = PAGE_ROWS; fill(); };
    return box;
  }

  function csv(filename, columns, rows) {
    var q = function (v) {
      v = v === undefined || v === null ? "" : String(v);
      // A cell that a spreadsheet would run as a formula is quoted as text.
      if (/^[=+\-@\t\r]/.test(v)) v = "'" + v;
      return /[",\n\r]/.test(v) || v !== v.trim() ? '"' + v.replace(/"/g, '""') + '"' : v;
    };
    var lines = [columns.map(function (c) { return q(c.key); }).join(",")];
    rows.forEach(function (r) {
      lines.push(columns.map(function (c) { return q(c.csv ? c.csv(r) : r[c.key]); }).join(","));
    });
    var blob = new Blob([lines.join("\r\n") + "\r\n"], { type: "text/csv;charset=utf-8" });
    var a = el("a", { href: URL.createObjectURL(blob), download: filename });
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 0);
  }

  function personLink(p, view) {
    return el("a", { href: "#/" + (view || "trajectory") + "/" + pnRef(p.pseudonym), text: who(p) });
  }

  function tabs(ref) {
    return el("nav", { class: "tabs", "aria-label": t("case.views") }, ["trajectory", "contacts", "chain", "sources", "followup"].map(function (v) {
      var a = el("a", { href: "#/" + v + "/" + ref, text: t("view." + v) });
      if (location.hash.indexOf("#/" + v + "/") === 0) a.setAttribute("aria-current", "page");
      return a;
    }));
  }

  function facts(pairs) {
    var dl = el("dl", { class: "facts" });
    pairs.forEach(function (p) {
      dl.appendChild(el("dt", { text: p[0] }));
      dl.appendChild(el("dd", { id: p[2] }, [p[1] instanceof Node ? p[1] : String(p[1] === undefined ? "" : p[1])]));
    });
    return dl;
  }

  // ---- map -----------------------------------------------------------

  var world = null;
  function baseMap(div) {
    var map = L.map(div, { zoomControl: true, attributionControl: true, preferCanvas: true, keyboard: true });
    map.attributionControl.setPrefix("Leaflet");
    map.attributionControl.addAttribution("Natural Earth");
    // A view before any layer: the canvas renderer places paths only on
    // a map that has one.
    map.setView([30.59, 114.3], 10);
    var add = function (w) {
      L.geoJSON(topojson.feature(w, w.objects.countries), {
        style: { color: "#8aa0b4", weight: 1, fillColor: "#ffffff", fillOpacity: 1 }, interactive: false
      }).addTo(map).bringToBack();
    };
    if (world) add(world);
    else fetch("/console/vendor/countries-50m.json").then(function (r) { return r.json(); }).then(function (w) { world = w; add(w); });
    return map;
  }

  function fit(map, latlngs) {
    if (latlngs.length === 0) map.setView([30.59, 114.3], 10);
    else if (latlngs.length === 1) map.setView(latlngs[0], 13);
    else map.fitBounds(L.latLngBounds(latlngs).pad(0.15));
  }

  // ---- views -----------------------------------------------------------

  var views = {};

  views.status = function () {
    return api("GET", "/v1/status").then(function (st) {
      var box = el("div", {}, [el("h1", { text: t("status.title") }), facts([
        [t("status.chain"), st.chain_id, "st-chain"], [t("status.region"), st.region, "st-region"],
        [t("status.height"), st.height, "st-height"], [t("status.head"), st.head, "st-head"],
        [t("status.state"), st.state_hash, "st-state"], [t("status.timeline"), st.timeline, "st-timeline"],
        [t("status.health"), st.status, "st-health"]
      ])]);
      show(box);
      if (!hasRole("auditor") && !hasRole("investigator") && state.session.role !== "node") return;
      return api("GET", "/v1/consortium/validators").then(function (v) {
        box.appendChild(el("h2", { text: t("status.validators") }));
        if (!v.validators || v.validators.length === 0) {
          box.appendChild(el("p", { class: "muted", text: t("status.solo") }));
          return;
        }
        box.appendChild(table([
          { key: "organisation", label: t("col.name") }, { key: "power", label: t("col.power") },
          { key: "decided", label: t("col.height") }, { key: "public_key", label: t("col.key"), cls: "mono", get: function (r) { return short(r.public_key); } }
        ], v.validators, { id: "validators" }));
      }).catch(function () { /* a role that may not list validators sees the rest */ });
    });
  };

  views.search = function () {
    var input = el("input", { id: "person", name: "person", "aria-label": t("search.label"), placeholder: "phone:13800000000", autocomplete: "off" });
    var f = el("form", { class: "inline", id: "search" }, [
      el("label", { for: "person", text: t("search.label") }), input,
      el("button", { type: "submit", class: "primary", text: t("search.go") })
    ]);
    f.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var ref = input.value.trim();
      if (!ref) { input.focus(); return; }
      needCase(function () { trajectory(ref, false, true); });
    });
    var list = el("div", { id: "cases" });
    var casesBtn = el("button", { type: "button", id: "list-cases", text: t("cases.list") });
    casesBtn.addEventListener("click", function () {
      needCase(function () {
        api("GET", "/v1/cases", undefined, true).then(function (d) {
          views.search();
          var l = document.getElementById("cases");
          l.appendChild(el("h2", {}, [t("cases.title") + " ", el("span", { class: "count", id: "cases-count", text: String(d.cases.length) })]));
          l.appendChild(table([
            { key: "person", label: t("col.person"), get: function (r) { return personLink(r); } },
            { key: "status", label: t("col.status"), get: function (r) { return t("case." + r.status); }, sort: function (r) { return r.status; } }, { key: "onset", label: t("col.onset") },
            { key: "reported", label: t("col.reported") }, { key: "by", label: t("col.by") }
          ], d.cases, { id: "cases-table" }));
        }).catch(fail);
      });
    });
    show(el("div", {}, [el("h1", { text: t("search.title") }), f, el("p", { class: "muted", text: t("search.help") }),
      el("div", { class: "toolbar" }, [casesBtn]), list]));
    input.focus();
    return Promise.resolve();
  };

  function trajectory(ref, all, fromSearch) {
    return api("POST", "/v1/trace/trajectory", { person: ref, all: !!all }, true).then(function (d) {
      var pn = pnRef(d.pseudonym);
      if (fromSearch) history.replaceState(null, "", "#/trajectory/" + pn);
      var counted = d.entries.filter(function (e) { return e.status === "accepted" || e.status === "pending"; });
      var refused = d.entries.filter(function (e) { return !(e.status === "accepted" || e.status === "pending"); });
      var toggle = el("a", { href: "#/trajectory/" + pn + (all ? "" : "?all=1"), id: "toggle-refused", text: all ? t("traj.hide") : t("traj.show") });
      var mapDiv = el("div", { class: "map", id: "map", role: "region", "aria-label": t("traj.map") });
      var box = el("div", {}, [
        el("h1", { text: t("traj.title", { who: who(d) }) }), tabs(pn),
        facts([[t("col.window"), d.from + " — " + d.to], [t("col.basis"), d.window_note || d.window_basis || ""],
          [t("traj.records"), String(counted.length), "traj-count"]].concat(all ? [[t("traj.refused"), String(refused.length), "traj-refused"]] : [])),
        el("div", { class: "toolbar" }, [toggle]),
        d.note ? el("p", { class: "muted", text: d.note }) : null,
        el("div", { class: "split" }, [el("div", {}, [el("h2", { text: t("traj.timeline") }), timeline(counted.concat(all ? refused : []))]), mapDiv]),
        el("h2", { text: t("traj.records") }),
        entriesTable(counted, "traj-table"),
        all ? el("h2", { text: t("traj.refused") }) : null,
        all ? entriesTable(refused, "traj-refused-table") : null
      ]);
      show(box);
      var map = baseMap(mapDiv);
      var pts = [];
      counted.forEach(function (e) {
        if (e.lat || e.lon) {
          pts.push([e.lat, e.lon]);
          L.circleMarker([e.lat, e.lon], { radius: 6, color: e.kind === "move" ? "#7f8c8d" : "#1f6fb2" }).addTo(map)
            .bindTooltip(esc(e.site + " (" + e.site_kind + ") " + e.in));
        }
        if (e.kind === "move" && (e.to_lat || e.to_lon) && (e.lat || e.lon)) {
          pts.push([e.to_lat, e.to_lon]);
          L.polyline([[e.lat, e.lon], [e.to_lat, e.to_lon]], { color: "#555", weight: 2, dashArray: "4 4" }).addTo(map);
        }
      });
      if (all) refused.forEach(function (e) {
        if (e.lat || e.lon) L.circleMarker([e.lat, e.lon], { radius: 6, color: "#c0392b" }).addTo(map).bindTooltip(esc(e.site + ": " + e.status));
      });
      mapDiv.dataset.points = String(pts.length);
      fit(map, pts);
    });
  }

  function entriesTable(entries, id) {
    return table([
      { key: "status", label: t("col.status"), get: function (r) { return el("span", { class: "status-" + r.status, text: t("status." + r.status) }); }, sort: function (r) { return r.status; } },
      { key: "kind", label: t("col.kind") }, { key: "site", label: t("col.site") }, { key: "site_kind", label: t("col.sitekind") },
      { key: "to_site", label: t("col.to") }, { key: "in", label: t("col.in") }, { key: "out", label: t("col.out") },
      { key: "via", label: t("col.via") }, { key: "reason", label: t("col.reason") },
      { key: "tx", label: t("col.tx"), cls: "mono", get: function (r) { return short(r.tx); } }
    ], entries, { id: id, sortKey: "in" });
  }

  // timeline draws each day's visits and moves as bars on a 24-hour line.
  function timeline(entries) {
    var days = {};
    entries.forEach(function (e) {
      var d = e.in.slice(0, 10);
      (days[d] = days[d] || []).push(e);
    });
    var box = el("div", { class: "timeline", id: "timeline" });
    Object.keys(days).sort().forEach(function (d) {
      var bar = el("div", { class: "bar", role: "img", "aria-label": d + ": " + days[d].length });
      days[d].forEach(function (e) {
        var a = minutes(e.in), b = e.out.slice(0, 10) === d ? minutes(e.out) : 1440;
        var s = el("span", { class: e.kind + " " + e.status, title: e.site + " " + e.in.slice(11, 16) + "–" + e.out.slice(11, 16) });
        s.style.left = (a / 14.4) + "%";
        s.style.width = Math.max(0.3, (b - a) / 14.4) + "%";
        bar.appendChild(s);
      });
      box.appendChild(el("div", { class: "day" }, [el("span", { class: "mono", text: d }), bar]));
    });
    return el("div", {}, [box, el("div", { class: "legend" }, [
      el("span", {}, [el("i", { style: "background:#1f6fb2" }), t("legend.visit")]),
      el("span", {}, [el("i", { style: "background:#7f8c8d" }), t("legend.move")]),
      el("span", {}, [el("i", { style: "background:#c0392b" }), t("legend.refused")])])]);
  }

  function minutes(ts) { return parseInt(ts.slice(11, 13), 10) * 60 + parseInt(ts.slice(14, 16), 10); }

  function durMinutes(d) {
    // Go durations as the API writes them: 1h2m3s, 15m0s, 45s.
    var m = 0, re = /(\d+(?:\.\d+)?)(h|m|s)/g, x;
    while ((x = re.exec(d || "")) !== null) m += parseFloat(x[1]) * ({ h: 60, m: 1, s: 1 / 60 })[x[2]];
    return m;
  }

  views.trajectory = function (ref, q) {
    return needCase(function () { return trajectory(ref, q.all === "1").catch(fail); });
  };

  views.contacts = function (ref) {
    return needCase(function () {
      return api("POST", "/v1/trace/contacts", { person: ref }, true).then(function (d) {
        var pn = pnRef(d.pseudonym);
        var rows = d.contacts;
        var kinds = Array.from(new Set(rows.map(function (r) { return r.site_kind; }))).sort();
        var kindSel = el("select", { id: "kind-filter", "aria-label": t("filter.kind") }, [el("option", { value: "", text: t("filter.allkinds") })].concat(
          kinds.map(function (k) { return el("option", { value: k, text: k }); })));
        var minIn = el("input", { id: "overlap-filter", type: "number", min: "0", step: "5", value: "0", style: "width:80px", "aria-label": t("filter.overlap") });
        var shown = el("span", { class: "count", id: "contacts-shown", text: String(rows.length) });
        var cols = [
          { key: "person", label: t("col.person"), get: function (r) { return personLink(r, "contacts"); } },
          { key: "pseudonym", label: t("col.pseudonym"), cls: "mono", get: function (r) { return short(r.pseudonym); } },
          { key: "site", label: t("col.site") }, { key: "site_kind", label: t("col.sitekind") },
          { key: "from", label: t("col.from") }, { key: "to", label: t("col.until") },
          { key: "overlap", label: t("col.overlap"), sort: function (r) { return durMinutes(r.overlap); } },
          { key: "via", label: t("col.via") }, { key: "tx", label: t("col.tx"), cls: "mono", get: function (r) { return short(r.tx); } }
        ];
        var tab = table(cols, rows, { id: "contacts-table", sortKey: "from" });
        var filtered = function () {
          var k = kindSel.value, m = parseFloat(minIn.value) || 0;
          return rows.filter(function (r) { return (!k || r.site_kind === k) && durMinutes(r.overlap) >= m; });
        };
        var apply = function () { var f = filtered(); tab.refill(f); shown.textContent = String(f.length); };
        kindSel.addEventListener("change", apply);
        minIn.addEventListener("input", apply);
        var exp = el("button", { type: "button", id: "contacts-csv", text: t("csv") });
        exp.addEventListener("click", function () { csv("contacts.csv", cols, filtered()); });
        show(el("div", {}, [
          el("h1", { text: t("contacts.title", { who: who(d) }) }), tabs(pn),
          facts([[t("col.window"), d.from + " — " + d.to], [t("col.minoverlap"), d.min_overlap],
            [t("contacts.persons"), String(d.persons), "contacts-persons"], [t("contacts.rows"), String(rows.length), "contacts-rows"]]),
          d.note ? el("p", { class: "muted", text: d.note }) : null,
          el("div", { class: "toolbar" }, [el("label", {}, [t("filter.kind") + " ", kindSel]),
            el("label", {}, [t("filter.overlap") + " ", minIn]), el("span", {}, [t("shown") + " ", shown]), exp]),
          tab]));
      }).catch(fail);
    });
  };

  // The chain graph shows each layer in full up to AGG persons; a bigger
  // layer is one aggregate node that opens PAGE persons per activation.
  var AGG = 40, PAGE = 40;

  views.chain = function (ref, q) {
    var depth = Math.min(10, Math.max(1, parseInt(q.depth || "2", 10) || 2));
    return needCase(function () {
      return api("POST", "/v1/trace/chain", { person: ref, depth: depth }, true).then(function (d) {
        var pn = pnRef(d.pseudonym);
        var depthSel = el("select", { id: "depth", "aria-label": t("chain.depth") }, [1, 2, 3, 4, 5].map(function (n) {
          return el("option", { value: String(n), text: String(n), selected: n === depth });
        }));
        depthSel.addEventListener("change", function () { location.hash = "#/chain/" + pn + "?depth=" + depthSel.value; });
        var layerSel = el("select", { id: "layer-filter", "aria-label": t("filter.layer") }, [el("option", { value: "", text: t("filter.alllayers") })].concat(
          d.layers.map(function (n, i) { return el("option", { value: String(i), text: t("chain.layer", { k: i, n: n }) }); })));
        var graphDiv = el("div", { class: "graph", id: "graph", role: "region", "aria-label": t("chain.graph"), tabindex: "0" });
        var layoutSel = el("select", { id: "layout", "aria-label": t("chain.layout") }, [
          el("option", { value: "time", text: t("chain.bytime") }), el("option", { value: "dagre", text: t("chain.compact") })]);
        layoutSel.addEventListener("change", function () { graphDiv.relayout(layoutSel.value); });
        var nodeCols = [
          { key: "person", label: t("col.person"), get: function (r) { return personLink(r, "contacts"); } },
          { key: "layer", label: t("col.layer") }, { key: "exposure", label: t("col.exposure") },
          { key: "case", label: t("col.case"), get: function (r) { return r.case ? el("span", { class: "case", text: t("case." + r.case) }) : ""; } }
        ];
        var nodeTab = table(nodeCols, d.nodes, { id: "chain-nodes", sortKey: "layer" });
        layerSel.addEventListener("change", function () {
          var v = layerSel.value;
          nodeTab.refill(d.nodes.filter(function (n) { return v === "" || String(n.layer) === v; }));
        });
        show(el("div", {}, [
          el("h1", { text: t("chain.title", { who: who(d) }) }), tabs(pn),
          facts([[t("col.window"), d.from + " — " + d.to], [t("chain.layers"), d.layers.join(" · "), "chain-layers"],
            [t("chain.persons"), String(d.nodes.length), "chain-persons"], [t("chain.edges"), String(d.edges.length), "chain-edges"]]),
          el("div", { class: "toolbar" }, [el("label", {}, [t("chain.depth") + " ", depthSel]), el("label", {}, [t("filter.layer") + " ", layerSel]),
            el("label", {}, [t("chain.layout") + " ", layoutSel])]),
          el("div", { class: "legend" }, [
            el("span", {}, [el("i", { style: "background:#c0392b" }), t("legend.case")]),
            el("span", {}, [el("i", { style: "background:#1f6fb2" }), t("legend.contact")]),
            el("span", {}, [el("i", { style: "background:#8e44ad" }), t("legend.aggregate")]),
            el("span", {}, ["— " + t("legend.site") + "  - - " + t("legend.encounter")])]),
          graphDiv, el("h2", { text: t("chain.nodes") }), nodeTab]));
        drawChain(graphDiv, d);
      }).catch(fail);
    });
  };

  function drawChain(div, d) {
    // Each layer in the order its persons were exposed: the graph reads
    // by layer from left to right and by time from top to bottom.
    var byLayer = [];
    d.nodes.forEach(function (n) { (byLayer[n.layer] = byLayer[n.layer] || []).push(n); });
    byLayer.forEach(function (l) { if (l) l.sort(function (a, b) { return a.exposure < b.exposure ? -1 : a.exposure > b.exposure ? 1 : 0; }); });
    var layout = "time";
    var shownCount = byLayer.map(function (l) { return l && l.length > AGG ? 0 : (l ? l.length : 0); });
    var inEdge = {};
    d.edges.forEach(function (e) { if (!inEdge[e.to]) inEdge[e.to] = e; });
    var cy = cytoscape({
      container: div, wheelSensitivity: 0.3, minZoom: 0.05,
      style: [
        { selector: "node", style: { label: "data(label)", "font-size": 9, width: 14, height: 14, "background-color": "#1f6fb2", "text-valign": "bottom", color: "#333" } },
        { selector: "node.case", style: { "background-color": "#c0392b", width: 18, height: 18 } },
        { selector: "node.agg", style: { shape: "round-rectangle", "background-color": "#8e44ad", width: 120, height: 28, "text-valign": "center", color: "#fff", "font-size": 10 } },
        { selector: "node:selected", style: { "border-width": 3, "border-color": "#f5a623" } },
        { selector: "edge", style: { width: 1, "line-color": "#9aa7b4", "curve-style": "bezier", "target-arrow-shape": "triangle", "target-arrow-color": "#9aa7b4", "arrow-scale": 0.6 } },
        { selector: "edge.encounter", style: { "line-style": "dashed" } }
      ]
    });
    var visible = {};
    function rebuild() {
      var els = [];
      visible = {};
      byLayer.forEach(function (list, k) {
        if (!list) return;
        var n = shownCount[k];
        list.slice(0, n).forEach(function (p) {
          visible[p.pseudonym] = true;
          els.push({ group: "nodes", data: { id: p.pseudonym, label: (p.person || short(p.pseudonym)).slice(0, 22), layer: k }, classes: p.case ? "case" : "" });
        });
        if (n < list.length) {
          els.push({ group: "nodes", data: { id: "agg-" + k, label: t("chain.more", { n: list.length - n, k: k }), layer: k }, classes: "agg" });
        }
      });
      var seen = {};
      d.edges.forEach(function (e) {
        var src = visible[e.from] ? e.from : aggOf(e.from), dst = visible[e.to] ? e.to : aggOf(e.to);
        if (!src || !dst || src === dst) return;
        var id = src + ">" + dst;
        if (seen[id]) return;
        seen[id] = true;
        els.push({ group: "edges", data: { id: id, source: src, target: dst }, classes: e.site_kind === "encounter" ? "encounter" : "" });
      });
      cy.elements().remove();
      cy.add(els);
      if (layout === "dagre") {
        cy.layout({ name: "dagre", rankDir: "LR", nodeSep: 6, rankSep: 120, animate: false }).run();
        return;
      }
      // Layers left to right; within one, persons top to bottom by
      // exposure, in columns of ROWS; an aggregate last.
      var ROWS = 20, count = [], seenIn = [], left = [], x = 0;
      cy.nodes().forEach(function (n) { var k = n.data("layer"); count[k] = (count[k] || 0) + 1; });
      count.forEach(function (c, k) { left[k] = x; x += 180 + Math.ceil((c || 1) / ROWS) * 120; });
      cy.layout({ name: "preset", animate: false, fit: true, padding: 20, positions: function (n) {
        var k = n.data("layer"), i = seenIn[k] || 0;
        seenIn[k] = i + 1;
        return { x: left[k] + Math.floor(i / ROWS) * 120, y: (i % ROWS) * 30 };
      } }).run();
    }
    div.relayout = function (name) { layout = name; rebuild(); };
    var layerOf = {};
    d.nodes.forEach(function (n) { layerOf[n.pseudonym] = n.layer; });
    function aggOf(p) { var k = layerOf[p]; return k === undefined ? null : "agg-" + k; }
    cy.on("tap", "node", function (ev) {
      var id = ev.target.id();
      if (id.indexOf("agg-") === 0) {
        var k = parseInt(id.slice(4), 10);
        shownCount[k] = Math.min(byLayer[k].length, shownCount[k] + PAGE);
        rebuild();
        return;
      }
      location.hash = "#/contacts/pn:" + id;
    });
    rebuild();
    div.cy = cy;
    // Keyboard: Enter on the graph opens the next page of the first
    // aggregated layer.
    div.addEventListener("keydown", function (ev) {
      if (ev.key !== "Enter") return;
      var agg = cy.nodes(".agg")[0];
      if (agg) agg.emit("tap");
    });
  }

  views.sources = function (ref) {
    return needCase(function () {
      return api("POST", "/v1/trace/sources", { persons: [ref] }, true).then(function (d) {
        var c = d.cases[0];
        var pn = pnRef(c.pseudonym);
        show(el("div", {}, [
          el("h1", { text: t("sources.title", { who: who(c) }) }), tabs(pn),
          facts([[t("col.onset"), c.onset], [t("col.window"), c.from + " — " + c.to], [t("sources.persons"), String(c.persons.length), "sources-persons"],
            [t("sources.sites"), String(c.sites.length), "sources-sites"]]),
          el("h2", { text: t("sources.met") }),
          table([
            { key: "person", label: t("col.person"), get: function (r) { return personLink(r, "contacts"); } },
            { key: "case", label: t("col.case"), get: function (r) { return r.case ? el("span", { class: "case", text: t("case." + r.case) }) : ""; } },
            { key: "first", label: t("col.first") }, { key: "last", label: t("col.last") },
            { key: "together", label: t("col.together"), sort: function (r) { return durMinutes(r.together); } },
            { key: "meetings", label: t("col.meetings") }, { key: "sites", label: t("col.sites"), get: function (r) { return (r.sites || []).join(", "); } }
          ], c.persons, { id: "sources-persons-table" }),
          el("h2", { text: t("sources.visited") }),
          table([
            { key: "site", label: t("col.site") }, { key: "site_kind", label: t("col.sitekind") },
            { key: "in", label: t("col.in") }, { key: "out", label: t("col.out") },
            { key: "cases", label: t("col.cases"), get: function (r) { return (r.cases || []).map(function (x) { return x.person || short(x.pseudonym); }).join(", "); } }
          ], c.sites, { id: "sources-sites-table" })]));
      }).catch(fail);
    });
  };

  views.followup = function (ref) {
    return needCase(function () {
      return api("POST", "/v1/trace/follow-up", { person: ref }, true).then(function (d) {
        var pn = pnRef(d.pseudonym);
        var cols = [
          { key: "person", label: t("col.person") },
          { key: "aliases", label: t("col.reach"), get: function (r) { return (r.aliases || []).join(", "); }, csv: function (r) { return (r.aliases || []).join(" "); } },
          { key: "first", label: t("col.first") }, { key: "last", label: t("col.last") },
          { key: "together", label: t("col.together"), sort: function (r) { return durMinutes(r.together); } },
          { key: "sites", label: t("col.sites"), get: function (r) { return (r.sites || []).join(", "); }, csv: function (r) { return (r.sites || []).join(" "); } },
          { key: "until_date", label: t("col.quarantine") }
        ];
        var exp = el("button", { type: "button", id: "followup-csv", text: t("csv") });
        exp.addEventListener("click", function () { csv("follow-up.csv", cols, d.contacts); });
        var pr = el("button", { type: "button", id: "followup-print", text: t("print") });
        pr.addEventListener("click", function () { window.print(); });
        show(el("div", {}, [
          el("h1", { text: t("followup.title", { who: who(d) }) }), tabs(pn),
          facts([[t("col.window"), d.from + " — " + d.to], [t("followup.days"), String(d.days)],
            [t("followup.count"), String(d.contacts.length), "followup-count"]]),
          el("div", { class: "toolbar" }, [exp, pr]),
          table(cols, d.contacts, { id: "followup-table", sortKey: "until_date" })]));
      }).catch(fail);
    });
  };

  views.clusters = function () {
    return needCase(function () {
      return api("POST", "/v1/trace/clusters", {}, true).then(function (d) {
        var box = el("div", {}, [el("h1", { text: t("clusters.title") }),
          facts([[t("col.window"), d.from + " — " + d.to], [t("clusters.count"), String(d.clusters.length), "clusters-count"]])]);
        d.clusters.forEach(function (c) {
          box.appendChild(el("h2", { text: t("clusters.one", { id: c.id, from: c.from, to: c.to }) }));
          box.appendChild(el("p", {}, [t("clusters.cases") + ": "].concat(c.cases.map(function (p, i) {
            return el("span", {}, [i ? ", " : "", personLink(p, "sources")]);
          }))));
          box.appendChild(table([
            { key: "site", label: t("col.site") }, { key: "site_kind", label: t("col.sitekind") },
            { key: "exposed", label: t("col.exposed"), get: function (r) { return String((r.exposed || []).length); }, sort: function (r) { return (r.exposed || []).length; } }
          ], c.sites || []));
        });
        show(box);
      }).catch(fail);
    });
  };

  views.risk = function () {
    return api("GET", "/v1/public/risk-sites").then(function (g) {
      var mapDiv = el("div", { class: "map", id: "risk-map", role: "region", "aria-label": t("risk.map") });
      var rows = g.features.map(function (f) { return f.properties; });
      show(el("div", {}, [el("h1", { text: t("risk.title") }), el("p", { class: "muted", text: t("risk.help") }),
        facts([[t("risk.count"), String(rows.length), "risk-count"]]), mapDiv,
        table([
          { key: "site", label: t("col.site") }, { key: "name", label: t("col.name") }, { key: "kind", label: t("col.sitekind") },
          { key: "periods", label: t("col.periods"), get: function (r) { return (r.periods || []).map(function (p) { return p.from + " — " + p.to; }).join("; "); } }
        ], rows, { id: "risk-table" })]));
      var map = baseMap(mapDiv);
      var pts = [];
      rows.forEach(function (r) {
        pts.push([r.lat, r.lon]);
        L.circleMarker([r.lat, r.lon], { radius: 6, color: "#c0392b" }).addTo(map).bindTooltip(esc((r.name || r.site) + " (" + r.kind + ")"));
      });
      fit(map, pts);
    });
  };

  views.audit = function () {
    return api("GET", "/v1/audit").then(function (d) {
      var rows = d.audits || [];
      var filter = el("input", { id: "audit-filter", "aria-label": t("filter.text"), placeholder: t("filter.text") });
      var tab = table([
        { key: "recorded", label: t("col.time") }, { key: "role", label: t("col.role") },
        { key: "caller", label: t("col.caller"), get: function (r) { return r.name || short(r.caller); } },
        { key: "case", label: t("col.case") }, { key: "purpose", label: t("purpose") }, { key: "route", label: t("col.route") },
        { key: "pseudonym", label: t("col.subject"), cls: "mono", get: function (r) { return short(r.pseudonym); } },
        { key: "tx", label: t("col.tx"), cls: "mono", get: function (r) { return el("span", { "data-tx": r.tx, text: short(r.tx) }); }, sort: function (r) { return r.tx; } }
      ], rows, { id: "audit-table", sortKey: "recorded" });
      filter.addEventListener("input", function () {
        var q = filter.value.toLowerCase();
        tab.refill(rows.filter(function (r) { return !q || JSON.stringify(r).toLowerCase().indexOf(q) >= 0; }));
      });
      show(el("div", {}, [el("h1", { text: t("audit.title") }), facts([[t("audit.count"), String(rows.length), "audit-count"]]),
        el("div", { class: "toolbar" }, [filter]), tab]));
    });
  };

  // The hierarchy from this chain (docs/REGIONS.md): its parent, whose
  // headers it follows; the child regions' chains anchored into it; the
  // national grants it holds for readers from other regions.
  views.regions = function (ref) {
    if (ref) {
      return api("GET", "/v1/children/" + encodeURIComponent(ref) + "/anchors").then(function (d) {
        show(el("div", {}, [el("h1", { text: t("regions.anchors", { chain: d.child.chain_id }) }),
          facts([[t("col.region"), d.child.region + " (" + t("level." + d.child.level) + ")"], [t("regions.height"), String(d.child.height), "anchors-height"],
            [t("regions.count"), String(d.anchors.length) + (d.truncated ? "+" : ""), "anchors-count"]]),
          table([
            { key: "height", label: t("col.height") }, { key: "time", label: t("col.time") },
            { key: "hash", label: t("regions.hash"), cls: "mono", get: function (r) { return short(r.hash); } },
            { key: "state_hash", label: t("regions.state"), cls: "mono", get: function (r) { return short(r.state_hash); } },
            { key: "tx", label: t("col.tx"), cls: "mono", get: function (r) { return short(r.tx); } }
          ], d.anchors, { id: "anchors-table", sortKey: "height" })]));
      });
    }
    var none = function () { return null; };
    return Promise.all([api("GET", "/v1/status"), api("GET", "/v1/children"), api("GET", "/v1/parent").catch(none), api("GET", "/v1/grants").catch(none)]).then(function (res) {
      var st = res[0], rows = res[1].children || [], parent = res[2], grants = res[3] ? res[3].grants || [] : null;
      var box = el("div", {}, [el("h1", { text: t("regions.title") }), el("p", { class: "muted", text: t("regions.help") }),
        facts([[t("status.chain"), st.chain_id], [t("status.region"), st.region],
          [t("regions.parent"), parent ? parent.chain_id + " (" + parent.region + ")" : t("regions.noparent"), "regions-parent"],
          [t("regions.parentheight"), parent ? String(parent.height) : "-", "regions-parent-height"],
          [t("regions.children"), String(rows.length), "regions-count"]]),
        table([
          { key: "chain_id", label: t("status.chain"), get: function (r) { return el("a", { href: "#/regions/" + encodeURIComponent(r.chain_id), text: r.chain_id }); } },
          { key: "region", label: t("col.region"), get: function (r) { return r.region + " (" + t("level." + r.level) + ")"; } },
          { key: "engine", label: t("regions.engine") }, { key: "height", label: t("regions.height") },
          { key: "time", label: t("col.time") }, { key: "hash", label: t("regions.hash"), cls: "mono", get: function (r) { return short(r.hash); } }
        ], rows, { id: "regions-table", sortKey: "chain_id" })]);
      if (grants) {
        box.appendChild(el("h2", { text: t("grants.title") }));
        box.appendChild(el("p", { class: "muted", text: t("grants.help") }));
        box.appendChild(facts([[t("grants.count"), String(grants.length), "grants-count"]]));
        box.appendChild(table([
          { key: "id", label: t("col.tx"), cls: "mono", get: function (r) { return short(r.id); } },
          { key: "grantee", label: t("grants.grantee"), cls: "mono", get: function (r) { return short(r.grantee); } },
          { key: "chains", label: t("grants.chains"), get: function (r) { return r.chains.join(", "); } },
          { key: "reads", label: t("grants.reads"), get: function (r) { return r.reads.join(", "); } },
          { key: "window_from", label: t("grants.window"), get: function (r) { return r.window_from + " – " + r.window_to; } },
          { key: "expires", label: t("grants.expires"), get: function (r) {
            if (r.revoked) return r.expires + " (" + t("grants.revoked") + " " + r.revoked_at + ")";
            return r.expires + (r.expired ? " (" + t("grants.expired") + ")" : "");
          } },
          { key: "from", label: t("grants.from"), get: function (r) { return r.from || r.origin; } }
        ], grants, { id: "grants-table", sortKey: "expires" }));
      }
      show(box);
    });
  };

  // The intelligence feed (seed 002's δ, docs/REGIONS.md step 6): the
  // records submitted here, the digests come up from the regions below,
  // and the national broadcasts come down; most urgent first.
  function level(r) { return el("span", { class: "level level-" + r.level, text: r.response }); }

  views.intel = function (ref, q) {
    if (ref) {
      return api("GET", "/v1/intel/" + encodeURIComponent(ref)).then(function (r) {
        var rows = [[t("col.time"), r.time], [t("intel.level"), r.response, "intel-level"], [t("intel.dimension"), t("dim." + r.dimension)],
          [t("intel.secrecy"), r.secrecy], [t("intel.origin"), r.origin + (r.from ? " ← " + r.from : ""), "intel-origin"],
          [t("intel.record"), r.record]];
        if (r.broadcast) rows.push([t("intel.broadcast"), t("intel.yes")]);
        if (r.digest) rows.push([t("col.region"), r.digest.region], [t("intel.counts"), t("intel.countsv", r.digest), "intel-counts"]);
        var d = r.details;
        if (d) rows.push([t("intel.place"), d.place], [t("intel.spread"), d.spread], [t("intel.facts"), d.facts, "intel-facts"],
          [t("intel.topics"), (d.topics || []).join(", ")], [t("intel.sentiment"), d.sentiment + " (" + d.strength + ")"],
          [t("intel.submitter"), d.submitter + " " + short(d.submitter_key)], [t("intel.endorsers"), String((d.endorsers || []).length)],
          [t("intel.attachments"), String((d.attachments || []).length)]);
        else rows.push([t("intel.details"), t("intel.notcleared")]);
        show(el("div", {}, [el("h1", { text: t("intel.one") }), facts(rows)]));
      });
    }
    var from = q && q.from ? q.from : "";
    return api("GET", "/v1/intel" + (from ? "?from=" + encodeURIComponent(from) : "")).then(function (d) {
      var rows = d.intel || [];
      var input = el("input", { id: "intel-from", type: "date", value: from.slice(0, 10), "aria-label": t("intel.from") });
      input.addEventListener("change", function () { location.hash = "#/intel?from=" + encodeURIComponent(input.value); });
      var counts = { 1: 0, 2: 0, 3: 0, 4: 0 };
      rows.forEach(function (r) { counts[r.level]++; });
      show(el("div", {}, [el("h1", { text: t("intel.title") }), el("p", { class: "muted", text: t("intel.help") }),
        el("div", { class: "toolbar" }, [el("label", {}, [t("intel.from") + " ", input])]),
        facts([[t("intel.count"), String(rows.length) + (d.truncated ? "+" : ""), "intel-count"],
          [t("intel.bylevel"), "I " + counts[1] + " · II " + counts[2] + " · III " + counts[3] + " · IV " + counts[4], "intel-levels"],
          [t("intel.policy"), String(d.endorsements)]]),
        table([
          { key: "level", label: t("intel.level"), get: level },
          { key: "time", label: t("col.time") },
          { key: "dimension", label: t("intel.dimension"), get: function (r) { return t("dim." + r.dimension); }, sort: function (r) { return r.dimension; } },
          { key: "region", label: t("col.region"), get: function (r) { return r.digest ? r.digest.region : "-"; }, sort: function (r) { return r.digest ? r.digest.region : ""; } },
          { key: "confirmed", label: t("intel.confirmed"), get: function (r) { return r.digest ? String(r.digest.confirmed) : "-"; }, sort: function (r) { return r.digest ? r.digest.confirmed : -1; } },
          { key: "secrecy", label: t("intel.secrecy") },
          { key: "origin", label: t("intel.origin"), get: function (r) { return r.origin + (r.from ? " ← " + r.from : "") + (r.broadcast ? " ⇣" : ""); } },
          { key: "tx", label: t("col.tx"), cls: "mono", get: function (r) { return el("a", { href: "#/intel/" + r.tx, "data-tx": r.tx, text: short(r.tx) }); } }
        ], rows, { id: "intel-table", sortKey: "level" })]));
    });
  };

  // Early warning (issue 16, docs/WARNING.md): the epidemic curve of a
  // disease (the open statistics, counts only), the alerts the warning
  // rules raised, and each alert's life.
  var alertSteps = ["signal", "verification", "assessment", "confirmed", "closed"];

  function curve(days, from, to) {
    // A stacked bar per day from..to: suspected, clinical, confirmed.
    var start = Date.parse(from + "T00:00:00Z"), end = Date.parse(to + "T00:00:00Z");
    var n = Math.max(1, Math.round((end - start) / 86400000) + 1);
    var byDate = {};
    days.forEach(function (d) { byDate[d.date] = d; });
    var max = 1;
    days.forEach(function (d) { max = Math.max(max, d.new); });
    var W = 720, H = 180, pad = 24, bw = (W - pad) / n;
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 " + W + " " + (H + pad));
    svg.setAttribute("id", "curve");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", t("warn.curve"));
    var classes = [["suspected", "#e0a030"], ["clinical", "#d06030"], ["confirmed", "#a02020"]];
    for (var i = 0; i < n; i++) {
      var date = new Date(start + i * 86400000).toISOString().slice(0, 10);
      var d = byDate[date], y = H;
      if (!d) continue;
      classes.forEach(function (c) {
        var v = d[c[0]];
        if (!v) return;
        var h = v / max * (H - 10);
        var r = document.createElementNS(ns, "rect");
        r.setAttribute("x", String(pad + i * bw));
        r.setAttribute("y", String(y - h));
        r.setAttribute("width", String(Math.max(1, bw - 1)));
        r.setAttribute("height", String(h));
        r.setAttribute("fill", c[1]);
        r.setAttribute("data-date", date);
        var tip = document.createElementNS(ns, "title");
        tip.textContent = date + ": " + v + " " + t("case." + c[0]);
        r.appendChild(tip);
        svg.appendChild(r);
        y -= h;
      });
    }
    var axis = document.createElementNS(ns, "text");
    axis.setAttribute("x", "0");
    axis.setAttribute("y", "12");
    axis.setAttribute("font-size", "11");
    axis.textContent = String(max);
    svg.appendChild(axis);
    return svg;
  }

  views.warning = function (ref, q) {
    if (ref) {
      return api("GET", "/v1/alerts").then(function (d) {
        var a = (d.alerts || []).filter(function (x) { return x.id === ref; })[0];
        if (!a) { show(el("p", { id: "alert-missing", text: t("warn.noalert") })); return; }
        var at = alertSteps.indexOf(a.status);
        var steps = el("ol", { class: "steps", id: "alert-steps" }, alertSteps.map(function (s, i) {
          return el("li", { class: i < at ? "done" : i === at ? "current" : "", "aria-current": i === at ? "step" : null, text: t("alert." + s) });
        }));
        if (at < 0) steps.appendChild(el("li", { class: "current", "aria-current": "step", text: t("alert." + a.status) }));
        show(el("div", {}, [el("h1", { text: t("warn.alert") }), steps,
          facts([[t("warn.rule"), a.rule + " (" + a.method + ")"], [t("col.region"), a.region], [t("warn.date"), a.date],
            [t("intel.level"), a.response], [t("warn.observed"), String(a.observed) + " > " + a.upper, "alert-observed"],
            [t("warn.status"), t("alert." + a.status), "alert-status"], [t("warn.raised"), a.raised + " · " + t("col.height") + " " + a.height],
            [t("warn.assignee"), a.assignee ? short(a.assignee) : "-"],
            [t("warn.answered"), a.response_seconds === undefined ? "-" : String(a.response_seconds) + " s", "alert-answered"],
            [t("warn.records"), String(a.records.length), "alert-records"]]),
          el("ul", { class: "mono" }, a.records.map(function (r) { return el("li", { text: r }); }))]));
      });
    }
    var disease = q.disease || "pneumonia-unknown";
    var to = q.to || new Date(Date.now() + 8 * 3600000).toISOString().slice(0, 10);
    var from = q.from || new Date(Date.parse(to + "T00:00:00Z") - 29 * 86400000).toISOString().slice(0, 10);
    var stats = "/v1/public/stats?disease=" + encodeURIComponent(disease) + "&from=" + from + "&to=" + to + (q.region ? "&region=" + encodeURIComponent(q.region) : "");
    return Promise.all([api("GET", stats), api("GET", "/v1/alerts")]).then(function (res) {
      var st = res[0], al = res[1];
      var pick = el("input", { id: "warn-disease", value: disease, "aria-label": t("warn.disease") });
      var f = el("input", { id: "warn-from", type: "date", value: from, "aria-label": t("warn.from") });
      var go = function () { location.hash = "#/warning?disease=" + encodeURIComponent(pick.value) + "&from=" + f.value + "&to=" + to; };
      pick.addEventListener("change", go);
      f.addEventListener("change", go);
      var total = 0;
      st.days.forEach(function (d) { total += d.new; });
      show(el("div", {}, [el("h1", { text: t("warn.title") }), el("p", { class: "muted", text: t("warn.help") }),
        el("div", { class: "toolbar" }, [el("label", {}, [t("warn.disease") + " ", pick]), el("label", {}, [t("warn.from") + " ", f])]),
        facts([[t("col.region"), st.region], [t("warn.cases"), String(total), "warn-cases"]]),
        curve(st.days, from, to),
        el("h2", { text: t("warn.alerts") }),
        facts((al.regions || []).map(function (r) {
          return [t("warn.region", { region: r.region }), t("warn.regionv", { alerts: r.alerts, responded: r.responded, median: r.median_seconds === undefined ? "-" : r.median_seconds + " s" })];
        })),
        table([
          { key: "raised", label: t("warn.raised") }, { key: "rule", label: t("warn.rule") }, { key: "region", label: t("col.region") },
          { key: "response", label: t("intel.level") }, { key: "observed", label: t("warn.observed") },
          { key: "status", label: t("warn.status"), get: function (a) { return t("alert." + a.status); } },
          { key: "id", label: t("warn.alert"), cls: "mono", get: function (a) { return el("a", { href: "#/warning/" + a.id, text: short(a.id) }); } }
        ], al.alerts || [], { id: "alerts-table", sortKey: "raised" })]));
    });
  };

  // Supplies and donations in the open (issue 17, docs/SUPPLY.md): a
  // code's journey, a donation's path, needs against allocations. They
  // read the public routes only and are open without a login.

  function num(n) { return Number(n || 0).toLocaleString(state.lang === "zh" ? "zh-CN" : "en-US"); }

  // yuan writes an amount in fen as yuan with two decimals.
  function yuan(fen) {
    var f = Number(fen || 0) % 100;
    return t("money.yuan", { v: num(Math.floor(Number(fen || 0) / 100)) + "." + (f < 10 ? "0" : "") + f });
  }

  function when(ts) { return ts ? String(ts).replace("T", " ").slice(0, 16) : ""; }

  function party(p) {
    if (!p) return "-";
    var r = p.role ? t("role." + p.role) : "";
    return (p.name || short(p.key)) + (r ? " (" + r + ")" : "");
  }

  // named is the word for a value the API names (a step, a signal, a
  // flag): its key drops the hyphens; a value the words lack shows as it
  // is.
  function named(prefix, v) {
    var k = prefix + "." + String(v).replace(/-/g, "");
    var s = t(k);
    return s === k ? String(v) : s;
  }

  // lookup draws a public view's heading and form (one field, kept
  // filled for another try) and returns the box below it where the view
  // draws what the node answered. Submitting sets the fragment, so the
  // answer has its own link.
  function lookup(view, field, value, placeholder) {
    var input = el("input", { id: view + "-" + field, name: field, value: value, placeholder: placeholder, autocomplete: "off", spellcheck: "false" });
    var f = el("form", { class: "inline", id: view + "-form" }, [
      el("label", { for: view + "-" + field, text: t(view + ".field") }), input,
      el("button", { type: "submit", class: "primary", text: t("lookup.go") })
    ]);
    f.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var v = input.value.trim();
      if (!v) { input.focus(); return; }
      location.hash = "#/" + view + "?" + field + "=" + encodeURIComponent(v);
    });
    var out = el("div", { id: view + "-result" });
    show(el("div", {}, [el("h1", { text: t(view + ".title") }), el("p", { class: "muted", text: t(view + ".help") }), f, out]));
    if (!value) input.focus();
    return out;
  }

  // refused says in the error line what the node refused (the field it
  // names first) and keeps the form.
  function refused(out) {
    return function (err) {
      showError(err && err.message ? err.message : String(err));
      out.replaceChildren(el("p", { class: "muted", id: "lookup-refused", text: t("error.hint") }));
    };
  }

  // supplyRoute is the public route of a code typed as its GS1 Digital
  // Link path (01/GTIN/21/SERIAL, 01/GTIN/10/LOT, 00/SSCC, taken as written) or a
  // Digital Link URL (https://id.gs1.org/01/GTIN/10/LOT/21/SERIAL, its
  // values percent-decoded; a GTIN-8, -12 or -13 padded to 14; with a
  // serial, the serial's): "" when it is neither.
  function supplyRoute(s) {
    var vals = {}, segs, i;
    // A logistic unit: 00/SSCC, or a Digital Link URL ending /00/SSCC.
    var sscc = /^(?:https?:\/\/[^\/]*)?\/?00\/(\d{18})\/?(?:[?#].*)?$/i.exec(s);
    if (sscc) return "/v1/public/supply/00/" + sscc[1];
    if (/^https?:\/\//i.test(s)) {
      segs = s.replace(/^https?:\/\/[^\/]*/i, "").replace(/[?#].*$/, "").split("/").filter(function (x) { return x !== ""; });
      var at = segs.indexOf("01");
      if (at < 0 || (segs.length - at) % 2 !== 0) return "";
      for (i = at; i < segs.length; i += 2) {
        try { vals[segs[i]] = decodeURIComponent(segs[i + 1]); } catch (e) { return ""; }
      }
      if (/^(\d{8}|\d{12}|\d{13})$/.test(vals["01"])) vals["01"] = ("000000" + vals["01"]).slice(-14);
    } else {
      segs = s.replace(/^\//, "").split("/");
      if (segs.length !== 4 || segs[0] !== "01") return "";
      vals["01"] = segs[1];
      vals[segs[2]] = segs[3];
    }
    var ai = vals["21"] !== undefined ? "21" : vals["10"] !== undefined ? "10" : "";
    if (!ai || !vals["01"]) return "";
    return "/v1/public/supply/01/" + encodeURIComponent(vals["01"]) + "/" + ai + "/" + encodeURIComponent(vals[ai]);
  }

  function codeLink(code) { return el("a", { href: "#/supply?code=" + encodeURIComponent(code), class: "mono", text: code }); }

  // A code's journey: who made it, every step on the map where it gave
  // its place (in order, joined by a line) and in a table, who holds it
  // now, and the counterfeit signals first of all.
  views.supply = function (ref, q) {
    var code = q.code || ref;
    var out = lookup("supply", "code", code, "01/10614141073464/21/A1");
    if (!code) return Promise.resolve();
    var path = supplyRoute(code);
    if (!path) {
      showError("code: " + t("supply.badcode"));
      return Promise.resolve();
    }
    return api("GET", path).then(function (p) {
      var signals = p.signals || [];
      var banner = null;
      if (!p.commissioned || signals.length) {
        banner = el("div", { class: "banner", id: "supply-signals", role: "alert" }, [
          el("strong", { text: p.commissioned ? t("supply.signals", { n: signals.length }) : t("supply.uncommissioned") }),
          el("ul", {}, signals.map(function (s) {
            return el("li", { "data-kind": s.kind }, [el("b", { text: named("signal", s.kind) }),
              " — " + party(s.by) + " · " + t("col.height") + " " + s.height + (s.detail ? ": " + s.detail : "")]);
          }))]);
      }
      var held = (p.held || []).map(function (h) { return party(h.party) + ": " + num(h.units); }).join("; ");
      var rows = [[t("supply.code"), p.code, "supply-code"], [t("supply.gtin"), p.gtin]];
      if (p.serial) rows.push([t("supply.serial"), p.serial]);
      if (p.lot) rows.push([t("supply.lot"), p.lot]);
      rows.push([t("supply.maker"), p.maker ? party(p.maker) : t("supply.nomaker"), "supply-maker"],
        [t("supply.expiry"), p.expiry || "-", "supply-expiry"], [t("supply.standard"), p.standard || "-", "supply-standard"]);
      if (p.certificate) rows.push([t("supply.certificate"), p.certificate]);
      if (p.commissioned) rows.push([t("supply.units"), num(p.units)]);
      if (p.status) rows.push([t("supply.status"), named("item", p.status), "supply-status"]);
      if (p.in_transit) rows.push([t("supply.intransit"), short(p.in_transit)]);
      if (p.inside) rows.push([t("supply.inside"), p.inside + (p.within && p.within.length ? " (" + t("supply.within", { c: p.within.join(", ") }) + ")" : ""), "supply-inside"]);
      if (p.packed && p.packed.length) rows.push([t("supply.packed"), p.packed.map(function (u) { return num(u.units) + " × " + u.code; }).join("; "), "supply-packed"]);
      if (p.contents && p.contents.length) {
        // Units of a lot (01/{gtin}/10/{lot}) are counted; an instance is one.
        rows.push([t("supply.contents"), num(p.contents.length) + ": " + (p.content_units || []).map(function (u) {
          return u.code.substr(17, 4) === "/10/" ? num(u.units) + " × " + u.code : u.code;
        }).join(", "), "supply-contents"]);
      }
      rows.push([t("supply.held"), held || "-", "supply-held"], [t("supply.steps"), num(p.events.length) + (p.truncated ? "+" : ""), "supply-steps"]);
      var steps = p.events.map(function (e, i) { return Object.assign({ n: i + 1 }, e); });
      var placed = steps.filter(function (e) { return e.place; });
      var mapDiv = el("div", { class: "map", id: "supply-map", role: "region", "aria-label": t("supply.map") });
      out.replaceChildren(el("div", {}, [banner,
        signals.length === 0 && p.commissioned ? el("p", { class: "clean", id: "supply-clean", text: t("supply.clean") }) : null,
        facts(rows),
        p.truncated ? el("p", { class: "muted", text: t("supply.truncated") }) : null,
        steps.length ? el("h2", { text: t("supply.journey") }) : null,
        steps.length && placed.length < steps.length ? el("p", { class: "muted", id: "supply-unplaced", text: t("supply.unplaced", { n: steps.length - placed.length }) }) : null,
        placed.length ? mapDiv : null,
        steps.length ? table([
          { key: "n", label: "#" }, { key: "time", label: t("col.time"), get: function (e) { return when(e.time); } },
          { key: "step", label: t("supply.step"), get: function (e) { return named("step", e.step); } },
          { key: "by", label: t("supply.by"), get: function (e) { return party(e.by); }, sort: function (e) { return party(e.by); } },
          { key: "to", label: t("col.to"), get: function (e) { return e.to ? party(e.to) : ""; }, sort: function (e) { return e.to ? party(e.to) : ""; } },
          { key: "units", label: t("supply.units"), get: function (e) { return e.carried ? t("supply.carried") : num(e.units); } },
          { key: "place", label: t("supply.place"), get: function (e) { return e.place ? e.place.replace(",", ", ") : t("supply.noplace"); } },
          { key: "tx", label: t("col.tx"), cls: "mono", get: function (e) { return short(e.tx); } }
        ], steps, { id: "supply-table" }) : null]));
      if (!placed.length) return;
      var map = baseMap(mapDiv);
      var pts = placed.map(function (e) { return e.place.split(",").map(Number); });
      placed.forEach(function (e, i) {
        L.circleMarker(pts[i], { radius: 7, weight: 2, color: i === placed.length - 1 ? "#c0392b" : "#1f6fb2" }).addTo(map)
          .bindTooltip(esc(e.n + ". " + named("step", e.step) + " — " + party(e.by) + " · " + when(e.time)));
      });
      if (pts.length > 1) L.polyline(pts, { color: "#0b5cad", weight: 3, opacity: 0.7 }).addTo(map);
      mapDiv.dataset.markers = String(pts.length);
      mapDiv.leaflet = map;
      fit(map, pts);
    }).catch(refused(out));
  };

  var donationSteps = ["pledge", "receive", "purchase", "allocate", "delivered"];

  // A donation's path, as its donor follows it by the receipt id: the
  // money, the goods, each step in order and the shipments they name.
  views.donation = function (ref, q) {
    var id = q.id || ref;
    var out = lookup("donation", "id", id, "");
    if (!id) return Promise.resolve();
    return api("GET", "/v1/public/donations/" + encodeURIComponent(id)).then(function (d) {
      var ships = {};
      d.shipments.forEach(function (s) { ships[s.tx] = s; });
      var reached = {};
      d.path.forEach(function (s) { reached[s.step] = true; });
      var last = donationSteps.filter(function (s) { return reached[s]; }).pop();
      var stages = el("ol", { class: "steps", id: "donation-stages", "aria-label": t("donation.stages") }, donationSteps.map(function (s) {
        return el("li", { class: s === last ? "current" : reached[s] ? "done" : "", "aria-current": s === last ? "step" : null, text: named("dstep", s) });
      }));
      var timeline = el("ol", { class: "path", id: "donation-path" }, d.path.map(function (s) {
        var sh = s.shipment ? ships[s.shipment] : null;
        var what = [];
        if (s.amount) what.push(yuan(s.amount));
        if (sh) what.push(t("donation.shipment", { items: sh.items.map(function (i) { return num(i.units) + " × " + i.code; }).join(", "), from: party(sh.from), to: party(sh.to) }));
        return el("li", { "data-step": s.step, class: sh && !sh.receipt && s.step === "allocate" ? "transit" : null }, [
          el("span", { class: "mono", title: s.time, text: when(s.time) }), " ", el("b", { text: named("dstep", s.step) }),
          " — " + party(s.by) + (what.length ? ": " + what.join("; ") : ""),
          sh && !sh.receipt ? el("span", { class: "pill transit", text: t("donation.transit") }) : null]);
      }));
      out.replaceChildren(el("div", {}, [
        facts([[t("donation.id"), d.id, "donation-id"],
          [t("donation.donor"), d.named ? d.donor : d.donor + " (" + t("donation.pseudonym") + ")", "donation-donor"],
          [t("donation.charity"), party(d.charity), "donation-charity"], [t("donation.purpose"), d.purpose || "-", "donation-purpose"],
          [t("donation.time"), when(d.time) + " · " + t("col.height") + " " + d.height],
          [t("donation.pledged"), yuan(d.pledged), "donation-pledged"], [t("donation.received"), yuan(d.received), "donation-received"],
          [t("donation.spent"), yuan(d.spent), "donation-spent"], [t("donation.balance"), yuan(d.balance), "donation-balance"],
          [t("donation.intransit"), num(d.in_transit), "donation-intransit"]]),
        stages,
        el("h2", { text: t("donation.path") }), timeline,
        el("h2", { text: t("donation.goods") }),
        d.goods.length ? table([
          { key: "gtin", label: t("supply.gtin"), cls: "mono", get: function (g) { return el("a", { href: "#/needs?gtin=" + g.gtin, text: g.gtin }); } },
          { key: "pledged", label: t("donation.pledged"), get: function (g) { return num(g.pledged); } },
          { key: "received", label: t("donation.received"), get: function (g) { return num(g.received); } },
          { key: "bought", label: t("donation.bought"), get: function (g) { return num(g.bought); } },
          { key: "allocated", label: t("donation.allocated"), get: function (g) { return num(g.allocated); } },
          { key: "delivered", label: t("donation.delivered"), get: function (g) { return num(g.delivered); } }
        ], d.goods, { id: "goods-table" }) : el("p", { class: "muted", text: t("donation.nogoods") }),
        el("h2", { text: t("donation.shipments") }),
        d.shipments.length ? table([
          { key: "tx", label: t("col.tx"), cls: "mono", get: function (s) { return short(s.tx); } },
          { key: "from", label: t("col.from"), get: function (s) { return party(s.from); } },
          { key: "to", label: t("col.to"), get: function (s) { return party(s.to); } },
          { key: "items", label: t("donation.items"), get: function (s) {
            return el("span", {}, s.items.map(function (i, k) { return el("span", {}, [k ? ", " : "", num(i.units) + " × ", codeLink(i.code)]); }));
          } },
          { key: "receipt", label: t("donation.receipt"), get: function (s) {
            return s.receipt ? t("donation.receivedat", { height: s.receipt_height }) : el("span", { class: "pill transit", text: t("donation.transit") });
          }, sort: function (s) { return s.receipt_height || 0; } }
        ], d.shipments, { id: "shipments-table" }) : el("p", { class: "muted", text: t("donation.noshipments") })]));
    }).catch(refused(out));
  };

  // needBars draws each hospital's declared need and what charities
  // allocated it as a pair of horizontal bars on one scale; a fever
  // clinic is marked, an allocation beyond the need red.
  function needBars(needs) {
    var ns = "http://www.w3.org/2000/svg";
    var W = 720, label = 230, row = 46, scale = W - label - 90;
    var max = 1;
    needs.forEach(function (n) { max = Math.max(max, n.units, n.allocated); });
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 " + W + " " + (needs.length * row + 4));
    svg.setAttribute("id", "needs-bars");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", t("needs.chart"));
    var add = function (tag, attrs, text) {
      var e = document.createElementNS(ns, tag);
      Object.keys(attrs).forEach(function (k) { e.setAttribute(k, String(attrs[k])); });
      if (text !== undefined) e.textContent = text;
      svg.appendChild(e);
      return e;
    };
    needs.forEach(function (n, i) {
      var y = i * row + 4;
      add("text", { x: 0, y: y + 14, "font-size": 12, "font-weight": 600 }, n.hospital.name || short(n.hospital.key));
      if (n.fever_clinic) add("text", { x: 0, y: y + 32, "font-size": 11, fill: "#a02020", class: "fever" }, t("needs.fever"));
      [["need", n.units, "#9aa7b4", y], ["allocated", n.allocated, n.allocated > n.units ? "#c0392b" : "#1f6fb2", y + 18]].forEach(function (b) {
        var w = b[1] / max * scale;
        var r = add("rect", { x: label, y: b[3], width: Math.max(b[1] ? 1 : 0, w), height: 14, fill: b[2], "data-kind": b[0], "data-units": b[1] });
        var tip = document.createElementNS(ns, "title");
        tip.textContent = (n.hospital.name || short(n.hospital.key)) + ": " + t("needs." + b[0]) + " " + num(b[1]);
        r.appendChild(tip);
        add("text", { x: label + w + 6, y: b[3] + 12, "font-size": 11 }, b[0] === "need" && !n.declared ? t("needs.nodeclared") : num(b[1]));
      });
    });
    return svg;
  }

  // Needs against allocations of a product: each hospital's declared
  // need beside what charities allocated it, the flags on allocations
  // that went against the needs, and the product's donations.
  views.needs = function (ref, q) {
    var gtin = q.gtin || ref;
    var out = lookup("needs", "gtin", gtin, "10614141073464");
    if (!gtin) return Promise.resolve();
    var none = function () { return null; };
    return Promise.all([api("GET", "/v1/public/needs?gtin=" + encodeURIComponent(gtin)),
      api("GET", "/v1/public/donations?gtin=" + encodeURIComponent(gtin)).catch(none)]).then(function (res) {
      var d = res[0], tot = res[1];
      var needs = d.needs.slice().sort(function (a, b) {
        return (b.fever_clinic - a.fever_clinic) || (b.units - a.units) || (b.allocated - a.allocated);
      });
      var declared = 0, allocated = 0;
      needs.forEach(function (n) { declared += n.units; allocated += n.allocated; });
      var box = el("div", {}, [
        facts([[t("supply.gtin"), d.gtin], [t("needs.hospitals"), num(needs.length), "needs-count"],
          [t("needs.declared"), num(declared), "needs-declared"], [t("needs.allocatedall"), num(allocated), "needs-allocated"],
          [t("needs.flags"), num(d.flags.length), "needs-flagcount"]])]);
      if (!needs.length) box.appendChild(el("p", { class: "muted", id: "needs-empty", text: t("needs.none") }));
      else {
        box.appendChild(el("div", { class: "legend" }, [
          el("span", {}, [el("i", { style: "background:#9aa7b4" }), t("needs.need")]),
          el("span", {}, [el("i", { style: "background:#1f6fb2" }), t("needs.allocated")]),
          el("span", {}, [el("i", { style: "background:#c0392b" }), t("needs.beyond")])]));
        box.appendChild(needBars(needs));
        box.appendChild(table([
          { key: "hospital", label: t("needs.hospital"), get: function (n) { return party(n.hospital); }, sort: function (n) { return party(n.hospital); } },
          { key: "fever_clinic", label: t("needs.colfever"), get: function (n) { return n.fever_clinic ? el("span", { class: "pill fever", text: t("intel.yes") }) : ""; } },
          { key: "urgency", label: t("needs.urgency"), get: function (n) { return n.urgency ? named("urgency", n.urgency) : "-"; } },
          { key: "units", label: t("needs.colneed"), get: function (n) { return n.declared ? num(n.units) : t("needs.nodeclared"); } },
          { key: "allocated", label: t("donation.allocated"), get: function (n) { return num(n.allocated); } }
        ], needs, { id: "needs-table" }));
      }
      box.appendChild(el("h2", { text: t("needs.flags") }));
      box.appendChild(d.flags.length ? table([
        { key: "kind", label: t("needs.flag"), get: function (f) { return el("span", { class: "flag", text: named("flag", f.kind) }); }, sort: function (f) { return f.kind; } },
        { key: "detail", label: t("needs.detail") }, { key: "height", label: t("col.height") },
        { key: "shipment", label: t("needs.shipment"), cls: "mono", get: function (f) { return short(f.shipment); } }
      ], d.flags, { id: "flags-table" }) : el("p", { class: "muted", id: "needs-noflags", text: t("needs.noflags") }));
      if (tot) {
        box.appendChild(el("h2", { text: t("needs.donations") }));
        box.appendChild(facts([[t("needs.donationcount"), num(tot.donations) + (tot.truncated ? "+" : ""), "needs-donations"]].concat(
          (tot.goods || []).map(function (g) { return [t("needs.donated"), t("needs.donatedv", { pledged: num(g.pledged), bought: num(g.bought), allocated: num(g.allocated), delivered: num(g.delivered) })]; }))));
        if ((tot.ids || []).length) box.appendChild(el("ul", { class: "mono", id: "needs-ids" }, tot.ids.map(function (x) {
          return el("li", {}, [el("a", { href: "#/donation?id=" + x, text: x })]);
        })));
      }
      out.replaceChildren(box);
    }).catch(refused(out));
  };

  views.roles = function () {
    return Promise.all([api("GET", "/v1/roles"), api("GET", "/v1/sites")]).then(function (res) {
      var rows = res[0].roles || [], sites = res[1].sites || [];
      show(el("div", {}, [el("h1", { text: t("roles.title") }), facts([[t("roles.count"), String(rows.length), "roles-count"]]),
        table([
          { key: "name", label: t("col.name") }, { key: "role", label: t("col.role") },
          { key: "key", label: t("col.key"), cls: "mono", get: function (r) { return short(r.key); } },
          { key: "height", label: t("col.height") }, { key: "tx", label: t("col.tx"), cls: "mono", get: function (r) { return short(r.tx); } }
        ], rows, { id: "roles-table" }),
        el("h2", { text: t("sites.title") }), facts([[t("sites.count"), String(sites.length) + (res[1].truncated ? "+" : ""), "sites-count"]]),
        el("p", { class: "muted", text: t("sites.help") }),
        table([
          { key: "site", label: t("col.site") }, { key: "kind", label: t("col.sitekind") }, { key: "name", label: t("col.name") },
          { key: "region", label: t("col.region") }, { key: "parent", label: t("col.parent") },
          { key: "lat", label: "lat" }, { key: "lon", label: "lon" },
          { key: "key", label: t("col.key"), cls: "mono", get: function (r) { return short(r.key); } }
        ], sites, { id: "sites-table", sortKey: "site" })]));
    });
  };

  function loginPage() {
    show(el("div", { class: "login" }, [el("h1", { text: t("login.title") }), el("p", { text: t("login.how") }),
      el("pre", { text: "epiledger console --node " + location.origin + " --as YOUR.key" }),
      el("p", {}, [el("a", { href: "#/risk", text: t("login.public") })]),
      el("p", {}, [t("login.open") + " ", el("a", { href: "#/supply", text: t("nav.supply") }), " · ",
        el("a", { href: "#/donation", text: t("nav.donation") }), " · ", el("a", { href: "#/needs", text: t("nav.needs") })])]));
  }

  // ---- routing -------------------------------------------------------

  // The views open to all, with no login: they read public routes only.
  var publicViews = { risk: 1, supply: 1, donation: 1, needs: 1 };
  var personal = { trajectory: 1, contacts: 1, chain: 1, sources: 1, followup: 1, clusters: 1, search: 1 };
  var needs = { search: "investigator", trajectory: "investigator", contacts: "investigator", chain: "investigator", sources: "investigator",
    followup: "investigator", clusters: "investigator", audit: "auditor", roles: "auditor", regions: "reader", intel: "intel", warning: "intel" };

  function route() {
    showError(null);
    document.getElementById("audit").hidden = true;
    var h = location.hash.replace(/^#\/?/, "");
    var qpos = h.indexOf("?");
    var q = {};
    if (qpos >= 0) {
      h.slice(qpos + 1).split("&").forEach(function (kv) { var p = kv.split("="); q[decodeURIComponent(p[0])] = decodeURIComponent(p[1] || ""); });
      h = h.slice(0, qpos);
    }
    var parts = h.split("/");
    var name = parts[0] || "status";
    var ref = parts.slice(1).join("/");
    if (name === "open") name = "status";
    document.querySelectorAll("#nav a").forEach(function (a) {
      var target = a.getAttribute("href").replace(/^#\//, "").split("/")[0] || "status";
      if (target === name || (target === "search" && personal[name] && name !== "clusters")) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    });
    var v = views[name];
    if (!v) { show(el("p", { text: t("notfound") })); return; }
    if (!publicViews[name] && !state.session) { loginPage(); return; }
    if (needs[name] && !hasRole(needs[name])) {
      show(el("div", {}, [el("h1", { text: t("forbidden.title") }), el("p", { id: "forbidden", text: t("forbidden.text", { role: state.session.role }) })]));
      return;
    }
    document.getElementById("purpose").hidden = !personal[name];
    var p = v(decodeURIComponent(ref), q);
    if (p && p.catch) p.catch(fail);
    main.focus({ preventScroll: true });
  }

  function renderChrome() {
    var s = state.session;
    document.getElementById("who").textContent = s ? (s.name || "") + " · " + t("role." + s.role) : t("notloggedin");
    document.getElementById("logout").hidden = !s;
    document.querySelectorAll("#nav a[data-need]").forEach(function (a) {
      a.hidden = !s || !hasRole(a.getAttribute("data-need"));
    });
  }

  function applyLang() {
    document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
    window.epiI18n.setLang(state.lang);
    document.querySelectorAll("[data-i18n]").forEach(function (n) { n.textContent = t(n.getAttribute("data-i18n")); });
    document.getElementById("lang").textContent = state.lang === "zh" ? "English" : "中文";
    renderChrome();
  }

  document.getElementById("lang").addEventListener("click", function () {
    state.lang = state.lang === "zh" ? "en" : "zh";
    try { localStorage.setItem("epiledger.lang", state.lang); } catch (e) { /* private mode */ }
    applyLang();
    route();
  });

  document.getElementById("logout").addEventListener("click", function () {
    api("POST", "/v1/console/logout", {}).catch(function () { /* ended already */ }).then(function () {
      state.session = null;
      sessionStorage.clear();
      renderChrome();
      location.hash = "#/";
      loginPage();
    });
  });

  ["case", "purposeText"].forEach(function (id) {
    var n = document.getElementById(id);
    n.value = sessionStorage.getItem("epiledger." + id) || "";
    n.addEventListener("change", function () { sessionStorage.setItem("epiledger." + id, n.value.trim()); });
  });

  window.addEventListener("hashchange", route);
  try { state.lang = localStorage.getItem("epiledger.lang") || (navigator.language || "").indexOf("zh") === 0 && "zh" || "en"; } catch (e) { state.lang = "en"; }
  applyLang();
  fetch("/v1/console/session", { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : null; }).then(function (s) {
    state.session = s;
    renderChrome();
    route();
  }, function () { route(); });
})();
