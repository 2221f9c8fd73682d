// estatewatch console: the calibration page (plain JavaScript, no build step).
//
// Draws the camera's zone lists and the throwing facade grid over its frame
// in an SVG whose user units are the detect size's pixels; the geometry
// itself is kept normalised (0..1), as the config file has it. Zone lists
// and the facade: "New zone" then click points ("Finish", or click the first
// point again, ends it); drag a point to move it; drag a small mid-edge
// point to add one; select a point and "Delete point" (or the Delete key).
// Floor lines and column edges: drag them; add and delete with the buttons;
// the first floor's number, the column labels and the unit label template
// are fields beside the picture.
// Floor, column and unit labels follow every change, and the pointer's
// position is read out with its floor, column and unit. "Save and reload"
// posts the geometry; the server checks it as check-config does.
"use strict";
(() => {
  const root = document.getElementById("calib");
  if (!root) return;
  const W = Number(root.dataset.width);
  const H = Number(root.dataset.height);
  const words = JSON.parse(root.dataset.words || "{}");
  let saved = JSON.parse(root.dataset.geometry);
  let geo = clone(saved);
  let version = root.dataset.version;
  const $ = (id) => document.getElementById(id);
  const svg = $("calib-svg");
  const stage = $("calib-stage");
  const img = $("calib-still");
  const layerSel = $("calib-layer");
  const NS = "http://www.w3.org/2000/svg";
  const coarse = window.matchMedia && window.matchMedia("(pointer: coarse)").matches;

  // What is selected: a shape and one of its points, a floor line, a column edge.
  let sel = { shape: -1, point: -1, line: -1, edge: -1 };
  // The points of a zone being drawn, or null.
  let drawing = null;
  // What the pointer drags, or null.
  let drag = null;
  // Where the pointer was last over the picture (normalised), or null: the
  // readout follows edits made elsewhere (the first floor, the labels).
  let pointer = null;

  function clone(v) { return JSON.parse(JSON.stringify(v)); }
  function clamp01(v) { return Math.min(1, Math.max(0, v)); }
  function r4(v) { return Math.round(v * 1e4) / 1e4; }

  stage.style.aspectRatio = W + " / " + H;
  // No frame now (camera starting or offline, nothing stored yet): draw on
  // a blank frame and ask again every few seconds.
  const stillUrl = img.getAttribute("src");
  img.addEventListener("error", () => {
    stage.classList.add("blank");
    $("calib-readout").textContent = words.no_picture || "";
    setTimeout(() => { img.src = stillUrl + "?retry=" + Date.now(); }, 3000);
  });
  img.addEventListener("load", () => stage.classList.remove("blank"));

  // ---- the model ------------------------------------------------------

  function layer() { return layerSel.value; }
  function color(id) {
    const o = [...layerSel.options].find((o) => o.value === id);
    return o ? o.dataset.color : "#fff";
  }
  function zoneLayer(id) {
    return geo.layers.find((l) => l.analyzer + "." + l.key === id) || null;
  }
  function isZoneLike(id) { return id === "facade" || zoneLayer(id) !== null; }
  // The polygons of a zone list (the facade is a list of at most one).
  function shapesOf(id) {
    if (id === "facade") {
      return geo.facade && geo.facade.polygon.length ? [{ polygon: geo.facade.polygon, name: words["layer.facade"] }] : [];
    }
    const l = zoneLayer(id);
    return l ? l.shapes : [];
  }
  function uniqueName(l) {
    for (let i = l.shapes.length + 1; ; i++) {
      const n = "zone-" + i;
      if (!l.shapes.some((s) => s.name === n)) return n;
    }
  }
  function addShape(id, pts) {
    if (id === "facade") {
      geo.facade.polygon = pts;
      sel.shape = 0;
      return;
    }
    const l = zoneLayer(id);
    l.shapes.push({ orig: null, name: uniqueName(l), display_name: null, polygon: pts });
    sel.shape = l.shapes.length - 1;
  }
  function deleteShape(id, i) {
    if (id === "facade") geo.facade.polygon = [];
    else zoneLayer(id).shapes.splice(i, 1);
    sel.shape = -1;
    sel.point = -1;
  }

  // The facade grid's geometry.
  function rows() { return geo.facade ? geo.facade.rows : []; }
  function lowTop() {
    const r = rows();
    return r.length >= 2 ? [r[0], r[r.length - 1]] : [1, 0];
  }
  function edgesAt(y) {
    const f = geo.facade;
    const [y0, y1] = lowTop();
    const t = y0 === y1 ? 0 : clamp01((y0 - y) / (y0 - y1));
    return f.edges.map((b, i) => b + ((f.edges_top[i] ?? b) - b) * t);
  }
  function defaultLabels(n) {
    return Array.from({ length: n }, (_, i) => String(i + 1).padStart(2, "0"));
  }
  function labelsAreDefault() {
    const f = geo.facade;
    const d = defaultLabels(f.labels.length);
    return f.labels.every((l, i) => l === d[i]);
  }
  function unitLabel(floor, col) {
    const f = geo.facade;
    return f.unit_label.split("{floor}").join(String(floor)).split("{column}").join(col);
  }
  // The floor, column and unit at a normalised point, or null outside the grid.
  function cellAt(x, y) {
    const f = geo.facade;
    if (!f) return null;
    const r = rows();
    if (r.length < 2) return null;
    let band = -1;
    for (let i = 0; i + 1 < r.length; i++) if (y <= r[i] && y > r[i + 1]) band = i;
    const e = edgesAt(y);
    let col = -1;
    for (let j = 0; j + 1 < e.length; j++) if (x >= e[j] && x < e[j + 1]) col = j;
    if (band < 0 || col < 0) return null;
    const label = f.labels[col] ?? String(col + 1).padStart(2, "0");
    return { floor: f.first + band, column: label, unit: unitLabel(f.first + band, label) };
  }

  // ---- drawing --------------------------------------------------------

  function el(tag, attrs, parent) {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (parent) parent.appendChild(e);
    return e;
  }
  function scale() {
    const w = svg.getBoundingClientRect().width;
    return w > 0 ? W / w : 1;
  }
  function pts(poly) { return poly.map(([x, y]) => x * W + "," + y * H).join(" "); }
  function text(g, x, y, s, size, anchor) {
    const t = el("text", { x, y, "font-size": size, "text-anchor": anchor || "middle", "dominant-baseline": "middle" }, g);
    t.textContent = s;
    return t;
  }

  function render() {
    const k = scale();
    const r = (coarse ? 11 : 7) * k;
    // 13 px text, smaller on a small picture (a phone), never below 9 px.
    const fs = Math.min(13, Math.max(9, W / k / 50)) * k;
    svg.replaceChildren();
    const current = layer();
    // Zone lists: the current one on top with its handles, the others dimmed.
    const ids = [...layerSel.options].map((o) => o.value).filter(isZoneLike);
    ids.sort((a, b) => (a === current) - (b === current));
    for (const id of ids) {
      const active = id === current;
      const g = el("g", { class: active ? "" : "dim" }, svg);
      const c = color(id);
      shapesOf(id).forEach((s, i) => {
        const chosen = active && i === sel.shape;
        el("polygon", {
          points: pts(s.polygon), fill: c, "fill-opacity": chosen ? 0.28 : 0.14, stroke: c,
          "stroke-width": chosen ? 3 : 2, "vector-effect": "non-scaling-stroke",
          "data-shape": i, class: active ? "shape" : "",
        }, g);
        if (s.polygon.length) {
          const [cx, cy] = centroid(s.polygon);
          text(g, cx * W, cy * H, s.display_name || s.name || "", fs);
        }
        if (!active) return;
        s.polygon.forEach(([x, y], j) => {
          const n = s.polygon.length;
          const [nx, ny] = s.polygon[(j + 1) % n];
          if (chosen && n >= 2) {
            el("circle", {
              cx: ((x + nx) / 2) * W, cy: ((y + ny) / 2) * H, r: r * 0.6, fill: "#fff", "fill-opacity": 0.7,
              stroke: c, "vector-effect": "non-scaling-stroke", class: "handle", "data-mid": j, "data-shape": i,
            }, g);
          }
          el("circle", {
            cx: x * W, cy: y * H, r, fill: chosen && j === sel.point ? "#fff" : c, stroke: "#000",
            "stroke-width": 1, "vector-effect": "non-scaling-stroke", class: "handle",
            "data-point": j, "data-shape": i,
          }, g);
        });
      });
    }
    if (geo.facade) renderGrid(current, r, fs);
    if (drawing) {
      const c = color(current);
      el("polyline", { points: pts(drawing), fill: "none", stroke: c, "stroke-width": 2, "stroke-dasharray": "6 4", "vector-effect": "non-scaling-stroke" }, svg);
      drawing.forEach(([x, y], j) => el("circle", { cx: x * W, cy: y * H, r, fill: j === 0 ? "#fff" : c, stroke: "#000", "vector-effect": "non-scaling-stroke", class: "drawn" }, svg));
    }
    renderTools();
    if (pointer) readout(pointer);
  }

  function renderGrid(current, r, fs) {
    const f = geo.facade;
    const rw = rows();
    const g = el("g", { class: current === "floors" || current === "columns" ? "" : "dim" }, svg);
    const [y0, y1] = lowTop();
    // Column edges, from the lowest to the top line.
    f.edges.forEach((b, j) => {
      const t = f.edges_top[j] ?? b;
      const chosen = current === "columns" && j === sel.edge;
      el("line", { x1: b * W, y1: y0 * H, x2: t * W, y2: y1 * H, stroke: "#ff4fd8", "stroke-width": chosen ? 4 : 2, "vector-effect": "non-scaling-stroke" }, g);
      if (current === "columns") {
        el("circle", { cx: b * W, cy: y0 * H, r, fill: chosen ? "#fff" : "#ff4fd8", stroke: "#000", "vector-effect": "non-scaling-stroke", class: "handle", "data-edge": j, "data-end": "bottom" }, g);
        el("circle", { cx: t * W, cy: y1 * H, r, fill: chosen ? "#fff" : "#ff4fd8", stroke: "#000", "vector-effect": "non-scaling-stroke", class: "handle", "data-edge": j, "data-end": "top" }, g);
      }
    });
    // Floor lines, with each floor's number left of its band.
    rw.forEach((y, i) => {
      const chosen = current === "floors" && i === sel.line;
      el("line", { x1: 0, y1: y * H, x2: W, y2: y * H, stroke: "#fff", "stroke-width": chosen ? 4 : 2, "stroke-dasharray": i === 0 || i === rw.length - 1 ? "" : "8 5", "vector-effect": "non-scaling-stroke" }, g);
      if (current === "floors") {
        el("circle", { cx: 0.03 * W, cy: y * H, r, fill: chosen ? "#00d0ff" : "#fff", stroke: "#000", "vector-effect": "non-scaling-stroke", class: "handle", "data-line": i }, g);
        el("circle", { cx: 0.97 * W, cy: y * H, r, fill: chosen ? "#00d0ff" : "#fff", stroke: "#000", "vector-effect": "non-scaling-stroke", class: "handle", "data-line": i }, g);
      }
    });
    const labels = el("g", {}, svg);
    // On a small picture the labels are the bare numbers, and unit labels
    // are left out of cells too small to hold them.
    const small = svg.getBoundingClientRect().width < 600;
    for (let i = 0; i + 1 < rw.length; i++) {
      const ym = (rw[i] + rw[i + 1]) / 2;
      const floor = String(f.first + i);
      text(labels, (small ? 0.01 : 0.075) * W, ym * H, small ? floor : words.floor + " " + floor, fs, "start").setAttribute("class", "floor-label");
      const e = edgesAt(ym);
      const bandH = (rw[i] - rw[i + 1]) * H;
      for (let j = 0; j + 1 < e.length; j++) {
        const lab = f.labels[j] ?? String(j + 1).padStart(2, "0");
        const unit = unitLabel(f.first + i, lab);
        const cellW = (e[j + 1] - e[j]) * W;
        if (bandH < fs * 1.1 || cellW < fs * 0.6 * (unit.length + 1)) continue;
        text(labels, ((e[j] + e[j + 1]) / 2) * W, ym * H, unit, fs * 0.85).setAttribute("class", "unit-label");
      }
    }
    // Column labels under the lowest line.
    const eb = edgesAt(y0);
    for (let j = 0; j + 1 < eb.length; j++) {
      const lab = f.labels[j] ?? String(j + 1).padStart(2, "0");
      text(labels, ((eb[j] + eb[j + 1]) / 2) * W, Math.min(H - fs, y0 * H + fs), small ? lab : words.column + " " + lab, fs).setAttribute("class", "column-label");
    }
  }

  function centroid(poly) {
    const n = poly.length;
    return [poly.reduce((a, p) => a + p[0], 0) / n, poly.reduce((a, p) => a + p[1], 0) / n];
  }

  // ---- the tools beside the picture -------------------------------------

  function renderTools() {
    const id = layer();
    const zoneLike = isZoneLike(id);
    $("calib-zone-tools").hidden = !zoneLike;
    $("calib-floor-tools").hidden = id !== "floors";
    $("calib-column-tools").hidden = id !== "columns";
    $("calib-new").hidden = !!drawing;
    $("calib-finish").hidden = !drawing;
    if (zoneLike) {
      const list = $("calib-shapes");
      list.replaceChildren();
      const shapes = shapesOf(id);
      shapes.forEach((s, i) => {
        const li = document.createElement("li");
        li.dataset.shape = i;
        if (i === sel.shape) li.className = "selected";
        const sw = document.createElement("span");
        sw.className = "swatch";
        sw.style.background = color(id);
        li.appendChild(sw);
        li.appendChild(document.createTextNode((s.display_name ? s.display_name + " · " : "") + (s.name || "") + " (" + s.polygon.length + ")"));
        li.addEventListener("click", () => { sel.shape = i; sel.point = -1; render(); });
        list.appendChild(li);
      });
      $("calib-empty").hidden = shapes.length > 0 || id === "throwing.exclude" || id === "fire.masks";
      const s = shapes[sel.shape];
      $("calib-fields").hidden = !s || id === "facade";
      if (s && id !== "facade") {
        if (document.activeElement !== $("calib-name")) $("calib-name").value = s.name || "";
        if (document.activeElement !== $("calib-display")) $("calib-display").value = s.display_name || "";
      }
      $("calib-delete-zone").disabled = !s;
      $("calib-delete-point").disabled = !s || sel.point < 0;
    }
    if (id === "columns" && document.activeElement !== $("calib-labels")) {
      $("calib-labels").value = geo.facade.labels.join(", ");
    }
    if (id === "columns" && document.activeElement !== $("calib-unit-label")) {
      $("calib-unit-label").value = geo.facade.unit_label;
    }
    if (id === "floors" && document.activeElement !== $("calib-first")) {
      $("calib-first").value = String(geo.facade.first);
      $("calib-first").setCustomValidity("");
    }
    $("calib-delete-line").disabled = sel.line < 0;
    $("calib-delete-edge").disabled = sel.edge < 0;
  }

  layerSel.addEventListener("change", () => {
    drawing = null;
    sel = { shape: -1, point: -1, line: -1, edge: -1 };
    render();
  });
  $("calib-new").addEventListener("click", () => {
    drawing = [];
    sel.shape = -1;
    sel.point = -1;
    render();
  });
  function finish() {
    if (drawing && drawing.length) addShape(layer(), drawing);
    drawing = null;
    render();
  }
  $("calib-finish").addEventListener("click", finish);
  $("calib-delete-zone").addEventListener("click", () => {
    if (sel.shape >= 0) deleteShape(layer(), sel.shape);
    render();
  });
  function deletePoint() {
    const s = shapesOf(layer())[sel.shape];
    if (!s || sel.point < 0) return;
    s.polygon.splice(sel.point, 1);
    sel.point = -1;
    render();
  }
  $("calib-delete-point").addEventListener("click", deletePoint);
  $("calib-name").addEventListener("input", (e) => {
    const s = shapesOf(layer())[sel.shape];
    if (s) { s.name = e.target.value.trim(); renderShapesOnly(); }
  });
  $("calib-display").addEventListener("input", (e) => {
    const s = shapesOf(layer())[sel.shape];
    if (s) { s.display_name = e.target.value.trim() || null; renderShapesOnly(); }
  });
  function renderShapesOnly() { render(); }

  $("calib-add-line").addEventListener("click", () => {
    const r = rows();
    if (r.length < 2) {
      geo.facade.rows = [0.9, 0.1];
    } else {
      const top = r[r.length - 1];
      const band = r[r.length - 2] - top;
      if (top - band >= 0) {
        r.push(r4(top - band));
      } else {
        // No room above: split the tallest floor.
        let best = 0;
        for (let i = 1; i + 1 < r.length; i++) if (r[i] - r[i + 1] > r[best] - r[best + 1]) best = i;
        r.splice(best + 1, 0, r4((r[best] + r[best + 1]) / 2));
      }
    }
    sel.line = geo.facade.rows.length - 1;
    render();
  });
  $("calib-delete-line").addEventListener("click", () => {
    if (sel.line >= 0) rows().splice(sel.line, 1);
    sel.line = -1;
    render();
  });
  $("calib-add-edge").addEventListener("click", () => {
    const f = geo.facade;
    const wasDefault = labelsAreDefault();
    let best = 0;
    for (let j = 1; j + 1 < f.edges.length; j++) if (f.edges[j + 1] - f.edges[j] > f.edges[best + 1] - f.edges[best]) best = j;
    if (f.edges.length < 2) {
      f.edges = [0, 1];
      f.edges_top = [0, 1];
    } else {
      f.edges.splice(best + 1, 0, r4((f.edges[best] + f.edges[best + 1]) / 2));
      f.edges_top.splice(best + 1, 0, r4((f.edges_top[best] + f.edges_top[best + 1]) / 2));
    }
    const n = f.edges.length - 1;
    f.labels = wasDefault ? defaultLabels(n) : f.labels.slice(0, best + 1).concat([String(best + 2).padStart(2, "0")], f.labels.slice(best + 1));
    sel.edge = best + 1;
    render();
  });
  $("calib-delete-edge").addEventListener("click", () => {
    const f = geo.facade;
    if (sel.edge < 0) return;
    const wasDefault = labelsAreDefault();
    f.edges.splice(sel.edge, 1);
    f.edges_top.splice(sel.edge, 1);
    const n = Math.max(0, f.edges.length - 1);
    f.labels = wasDefault ? defaultLabels(n) : f.labels.filter((_, i) => i !== Math.min(sel.edge, f.labels.length - 1));
    sel.edge = -1;
    render();
  });
  $("calib-labels").addEventListener("input", (e) => {
    geo.facade.labels = e.target.value.split(",").map((s) => s.trim()).filter((s) => s.length);
    render();
  });
  // The first floor's number: a whole number; anything else is marked and
  // not taken.
  $("calib-first").addEventListener("input", (e) => {
    const v = e.target.value.trim();
    const ok = /^-?[0-9]{1,6}$/.test(v);
    e.target.setCustomValidity(ok ? "" : words.not_integer || "");
    if (ok) {
      geo.facade.first = Number(v);
      render();
    }
  });
  // `{floor}` and `{column}` are replaced; check-config refuses a template
  // without `{floor}` when saving.
  $("calib-unit-label").addEventListener("input", (e) => {
    geo.facade.unit_label = e.target.value.trim();
    render();
  });
  $("calib-reset").addEventListener("click", () => {
    geo = clone(saved);
    drawing = null;
    sel = { shape: -1, point: -1, line: -1, edge: -1 };
    render();
  });

  // ---- the pointer on the picture -------------------------------------

  function at(e) {
    const b = svg.getBoundingClientRect();
    return [clamp01((e.clientX - b.left) / b.width), clamp01((e.clientY - b.top) / b.height)];
  }
  function inside(poly, [x, y]) {
    let c = false;
    for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
      const [xi, yi] = poly[i], [xj, yj] = poly[j];
      if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) c = !c;
    }
    return c;
  }

  svg.addEventListener("pointerdown", (e) => {
    const p = at(e);
    const d = e.target.dataset || {};
    const id = layer();
    if (drawing) {
      // Clicking the first point again closes the zone.
      const first = drawing[0];
      const k = scale();
      if (drawing.length >= 3 && first && Math.hypot((p[0] - first[0]) * W, (p[1] - first[1]) * H) < 10 * k) {
        finish();
      } else {
        drawing.push([r4(p[0]), r4(p[1])]);
        render();
      }
      e.preventDefault();
      return;
    }
    if (d.point !== undefined) {
      sel.shape = Number(d.shape);
      sel.point = Number(d.point);
      drag = { kind: "point" };
    } else if (d.mid !== undefined) {
      sel.shape = Number(d.shape);
      const s = shapesOf(id)[sel.shape];
      sel.point = Number(d.mid) + 1;
      s.polygon.splice(sel.point, 0, [r4(p[0]), r4(p[1])]);
      drag = { kind: "point" };
    } else if (d.line !== undefined) {
      sel.line = Number(d.line);
      drag = { kind: "line" };
    } else if (d.edge !== undefined) {
      sel.edge = Number(d.edge);
      drag = { kind: "edge", end: d.end };
    } else if (isZoneLike(id)) {
      const shapes = shapesOf(id);
      let hit = -1;
      shapes.forEach((s, i) => { if (inside(s.polygon, p)) hit = i; });
      sel.shape = hit;
      sel.point = -1;
    }
    if (drag) svg.setPointerCapture(e.pointerId);
    e.preventDefault();
    render();
  });
  svg.addEventListener("pointermove", (e) => {
    const p = at(e);
    pointer = p;
    readout(p);
    if (!drag) return;
    const [x, y] = [r4(p[0]), r4(p[1])];
    if (drag.kind === "point") {
      const s = shapesOf(layer())[sel.shape];
      if (s) s.polygon[sel.point] = [x, y];
    } else if (drag.kind === "line") {
      rows()[sel.line] = y;
    } else if (drag.kind === "edge") {
      (drag.end === "top" ? geo.facade.edges_top : geo.facade.edges)[sel.edge] = x;
    }
    render();
  });
  const stop = () => { drag = null; };
  svg.addEventListener("pointerup", stop);
  svg.addEventListener("pointercancel", stop);
  document.addEventListener("keydown", (e) => {
    if (e.target instanceof HTMLInputElement) return;
    if (e.key === "Escape" && drawing) { drawing = null; render(); }
    if ((e.key === "Delete" || e.key === "Backspace") && sel.point >= 0) { deletePoint(); e.preventDefault(); }
  });
  window.addEventListener("resize", render);
  img.addEventListener("load", render);

  function readout([x, y]) {
    let s = "x " + x.toFixed(3) + " · y " + y.toFixed(3);
    const c = cellAt(x, y);
    if (c) s += " · " + words.floor + " " + c.floor + " · " + words.column + " " + c.column + " · " + words.unit + " " + c.unit;
    $("calib-readout").textContent = s;
  }

  // ---- saving ---------------------------------------------------------

  $("calib-save").addEventListener("click", async () => {
    if (drawing) finish();
    const button = $("calib-save");
    const out = $("calib-result");
    button.disabled = true;
    out.className = "calib-result";
    out.dataset.outcome = "";
    out.textContent = words.saving || "…";
    let a;
    try {
      const r = await window.estatewatch.post(location.pathname, { geometry: JSON.stringify(geo), version });
      const type = r.headers.get("content-type") || "";
      a = type.startsWith("application/json") ? await r.json() : { message: "HTTP " + r.status + ": " + (await r.text()).replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim().slice(0, 200) };
      a.status = r.status;
    } catch (err) {
      a = { message: String(err) };
    }
    button.disabled = false;
    out.replaceChildren();
    const p = document.createElement("p");
    p.className = "calib-message";
    p.textContent = a.message || "";
    out.appendChild(p);
    if (a.problems && a.problems.length) {
      const ul = document.createElement("ul");
      ul.className = "calib-problems";
      for (const line of a.problems) {
        const li = document.createElement("li");
        const code = document.createElement("code");
        code.textContent = line;
        li.appendChild(code);
        ul.appendChild(li);
      }
      out.appendChild(ul);
    }
    if (a.reload) {
      const r = document.createElement("p");
      r.className = "calib-reload";
      r.textContent = a.reload;
      out.appendChild(r);
    }
    for (const w of a.warnings || []) {
      const r = document.createElement("p");
      r.className = "calib-warning";
      r.textContent = w;
      out.appendChild(r);
    }
    if (a.saved) {
      version = a.version;
      // What is in the file now: each zone is the entry at its place.
      for (const l of geo.layers) l.shapes.forEach((s, i) => { s.orig = i; });
      saved = clone(geo);
    } else if (a.version) {
      version = a.version;
    }
    const ok = a.status === 200 && (!a.saved || a.reloaded);
    out.classList.toggle("refused", !ok);
    out.dataset.outcome = a.saved ? (a.reloaded ? "reloaded" : "saved") : a.status === 200 ? "unchanged" : "refused";
    render();
    out.scrollIntoView({ block: "nearest" });
  });

  render();
})();
