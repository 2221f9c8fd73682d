// The incident board and incident page, live (plain JavaScript, no build step).
//
// Pages are rendered on the server; this script only
//  - on the board, listens to its events URL (Server-Sent Events with the
//    board's filters) and puts each incident's row, rendered by the server
//    in the viewer's language and the site's time zone, in place of the old
//    one (or on top, on the first page), or takes it away when it no longer
//    matches the filters;
//  - keeps the header's open count ("3 open") and the pager ("12 incidents ·
//    Page 1 of 1", the Older link) current: every incident event carries the
//    desk's open total and, on the board, how many incidents match its
//    filters and the pages they fill;
//  - on an incident page, shows "this incident has changed" when it does;
//  - keeps every age ("5 min") current.
"use strict";
(function () {
  var units = document.getElementById("age-units");

  function ageText(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    var m = Math.floor(s / 60);
    var h = Math.floor(m / 60);
    var fmt, n;
    if (s < 60) { fmt = units.dataset.s; n = s; }
    else if (m < 60) { fmt = units.dataset.min; n = m; }
    else if (h < 48) { fmt = units.dataset.h; n = h; }
    else { fmt = units.dataset.d; n = Math.floor(h / 24); }
    return fmt.replace("{n}", String(n));
  }
  function tickAges() {
    if (!units) return;
    var now = Date.now();
    document.querySelectorAll("[data-since]").forEach(function (el) {
      el.textContent = ageText(now - Number(el.dataset.since));
    });
  }
  tickAges();
  setInterval(tickAges, 5000);

  if (!window.EventSource) return;
  var list = document.getElementById("incidents");
  var page = document.getElementById("incident");
  var url = list ? list.dataset.events : page ? page.dataset.events : null;
  if (!url) return;
  var status = document.getElementById("live-status");
  function live(on) {
    if (!status) return;
    status.classList.toggle("off", !on);
    status.textContent = on ? status.dataset.on : status.dataset.off;
  }
  var source = new EventSource(url);
  source.addEventListener("open", function () { live(true); });
  source.addEventListener("error", function () { live(false); });
  // The stream fell behind and missed changes: start again from the server.
  source.addEventListener("reload", function () { window.location.reload(); });
  var openCount = document.getElementById("open-count");
  function setOpen(n) {
    if (!openCount || typeof n !== "number") return;
    openCount.dataset.n = String(n);
    openCount.textContent = openCount.dataset.fmt.replace("{n}", String(n));
  }
  var pager = document.getElementById("pager");
  function setTotal(n, pages) {
    if (!pager || typeof n !== "number" || typeof pages !== "number") return;
    var total = document.getElementById("pager-total");
    total.dataset.n = String(n);
    total.textContent = total.dataset.fmt.replace("{n}", String(n));
    var page = document.getElementById("pager-page");
    page.textContent = page.dataset.fmt.replace("{n}", pager.dataset.page).replace("{of}", String(pages));
    document.getElementById("pager-older").hidden = Number(pager.dataset.page) >= pages;
  }
  source.addEventListener("incident", function (e) {
    var msg = JSON.parse(e.data);
    setOpen(msg.open);
    setTotal(msg.total, msg.pages);
    if (page) {
      document.getElementById("changed").hidden = false;
      return;
    }
    var old = document.getElementById("inc-" + msg.event);
    if (msg.remove || !msg.html) {
      if (old) old.remove();
      return;
    }
    var tpl = document.createElement("template");
    tpl.innerHTML = msg.html.trim();
    var row = tpl.content.firstElementChild;
    if (old) {
      old.replaceWith(row);
    } else if (list.dataset.insert === "1") {
      list.insertBefore(row, list.firstElementChild);
      var none = document.getElementById("no-incidents");
      if (none) none.remove();
    } else {
      return;
    }
    row.classList.add("fresh");
    tickAges();
  });
})();
