// The live seat map: pick seats by mouse or keyboard, best available, running total, hold, live updates (SSE).
"use strict";
(function () {
  var root, showtimeId, currency, maxSeats, seats = [], byId = {}, picked = [], keep = [];
  var SIGNS = { EUR: "\u20ac", USD: "$", GBP: "\u00a3" };

  function money(amount) {
    var text = Math.floor(amount / 100) + "." + String(amount % 100).padStart(2, "0");
    return SIGNS[currency] ? SIGNS[currency] + text : text + " " + currency;
  }
  function isFree(button) {
    return button.dataset.status === "available" || keep.indexOf(button.dataset.seatId) >= 0;
  }
  function message(text) { document.getElementById("seat-message").textContent = text || ""; }
  function live(text) { document.getElementById("live-status").textContent = text; }

  function refreshSummary() {
    var list = picked.map(function (id) { return byId[id].dataset.label; });
    var total = picked.reduce(function (sum, id) { return sum + parseInt(byId[id].dataset.price, 10); }, 0);
    document.getElementById("picked").textContent = list.length ?
      list.length + (list.length === 1 ? " seat: " : " seats: ") + list.join(", ") : "No seats picked yet.";
    document.getElementById("total").textContent = money(total);
    document.getElementById("hold-button").disabled = list.length === 0 || root.dataset.onSale !== "true";
  }

  function setPicked(button, on) {
    var id = button.dataset.seatId;
    var at = picked.indexOf(id);
    if (on && at < 0) { picked.push(id); }
    if (!on && at >= 0) { picked.splice(at, 1); }
    button.setAttribute("aria-pressed", on ? "true" : "false");
  }

  function toggle(button) {
    message("");
    if (!isFree(button)) { message("Seat " + button.dataset.label + " is taken."); return; }
    var on = button.getAttribute("aria-pressed") !== "true";
    if (on && picked.length >= maxSeats) { message("You can pick at most " + maxSeats + " seats."); return; }
    setPicked(button, on);
    refreshSummary();
  }

  function describe(button) {
    var status = button.dataset.mine === "true" ? "yours" : button.dataset.status;
    var base = button.getAttribute("aria-label").split(", ").slice(0, 4).join(", ");
    button.setAttribute("aria-label", base + ", " + status);
    if (isFree(button)) { button.removeAttribute("aria-disabled"); } else { button.setAttribute("aria-disabled", "true"); }
  }

  function applyStatus(seatId, status) {
    var button = byId[String(seatId)];
    if (!button || button.dataset.status === status) { return; }
    button.dataset.status = status;
    if (status === "available") { button.removeAttribute("data-mine"); }
    if (!isFree(button) && button.getAttribute("aria-pressed") === "true") {
      setPicked(button, false);
      message("Seat " + button.dataset.label + " was just taken by someone else; pick another.");
      refreshSummary();
    }
    describe(button);
  }

  function focusSeat(button) {
    seats.forEach(function (b) { b.tabIndex = -1; });
    button.tabIndex = 0;
    button.focus();
  }

  function neighbour(button, dr, dc) {
    var r = parseInt(button.dataset.r, 10), c = parseInt(button.dataset.c, 10);
    if (dc !== 0) {
      var row = seats.filter(function (b) { return b.dataset.r === String(r); });
      var i = row.indexOf(button) + dc;
      return row[i] || null;
    }
    var rows = {}, best = null, bestDist = 1e9;
    seats.forEach(function (b) { rows[b.dataset.r] = true; });
    var keys = Object.keys(rows).map(Number).sort(function (a, b) { return a - b; });
    var target = keys[keys.indexOf(r) + dr];
    if (target === undefined) { return null; }
    seats.forEach(function (b) {
      if (b.dataset.r !== String(target)) { return; }
      var d = Math.abs(parseInt(b.dataset.c, 10) - c);
      if (d < bestDist) { best = b; bestDist = d; }
    });
    return best;
  }

  function onKey(event) {
    var moves = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0] };
    var move = moves[event.key];
    if (!move) { return; }
    event.preventDefault();
    var next = neighbour(event.target, move[0], move[1]);
    if (next) { focusSeat(next); }
  }

  function best() {
    message("");
    var count = parseInt(document.getElementById("best-count").value, 10);
    window.boxoffice.api("GET", "/api/v1/showtimes/" + showtimeId + "/seats/best?count=" + count).then(function (res) {
      if (!res.ok) { message((res.data && res.data.detail) || "No seats found together."); return; }
      picked.slice().forEach(function (id) { setPicked(byId[id], false); });
      res.data.seats.forEach(function (s) { var b = byId[String(s.seat_id)]; if (b) { setPicked(b, true); } });
      refreshSummary();
      if (picked.length) { focusSeat(byId[picked[0]]); }
    });
  }

  function hold() {
    message("");
    if (root.dataset.signedIn !== "true") {
      window.location.href = "/login?next=" + encodeURIComponent(window.location.pathname);
      return;
    }
    var change = root.dataset.change;
    if (change) {  // a seat change is reviewed (price difference shown) before anything is written
      window.location.href = "/bookings/" + encodeURIComponent(change) + "/change?seats=" + picked.join(",");
      return;
    }
    var button = document.getElementById("hold-button");
    button.disabled = true;
    var request = window.boxoffice.api("POST", "/api/v1/bookings", { showtime_id: showtimeId, seat_ids: picked.map(Number) });
    request.then(function (res) {
      if (res.ok) { window.location.href = "/bookings/" + res.data.reference + "/checkout"; return; }
      if (res.status === 401) { window.location.href = "/login?next=" + encodeURIComponent(window.location.pathname); return; }
      var detail = (res.data && res.data.detail) || "Those seats could not be held.";
      if (res.data && res.data.code === "email_unverified") { detail += " Confirm your email from your account page first."; }
      message(detail);
      reload();
      refreshSummary();
    }, function () { message("The network failed; please try again."); refreshSummary(); });
  }

  function reload() {
    return window.boxoffice.api("GET", "/api/v1/showtimes/" + showtimeId + "/seats").then(function (res) {
      if (!res.ok || !res.data) { return; }
      res.data.seats.forEach(function (s) {
        var b = byId[String(s.seat_id)];
        if (!b) { return; }
        if (s.mine) { b.dataset.mine = "true"; } else { b.removeAttribute("data-mine"); }
        applyStatus(s.seat_id, s.status);
        describe(b);
      });
    });
  }

  function listen() {
    if (!window.EventSource) { window.setInterval(reload, 5000); return; }
    var source = new EventSource("/api/v1/showtimes/" + showtimeId + "/events");
    var wasDown = false;
    source.onopen = function () {
      live("Seats update live.");
      root.dataset.live = "on";
      if (wasDown) { reload(); }
    };
    source.onerror = function () { wasDown = true; root.dataset.live = "off"; live("Reconnecting to live seat updates\u2026"); };
    source.addEventListener("seats", function (event) {
      var data = JSON.parse(event.data);
      (data.seats || []).forEach(function (s) { applyStatus(s.seat_id, s.status); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    root = document.getElementById("seatmap");
    if (!root) { return; }
    showtimeId = parseInt(root.dataset.showtimeId, 10);
    currency = root.dataset.currency;
    maxSeats = parseInt(root.dataset.max, 10);
    seats = Array.prototype.slice.call(root.querySelectorAll("button.seat[data-seat-id]"));
    seats.forEach(function (b) {
      byId[b.dataset.seatId] = b;
      b.addEventListener("click", function () { toggle(b); });
      b.addEventListener("keydown", onKey);
      b.addEventListener("focus", function () { seats.forEach(function (o) { o.tabIndex = -1; }); b.tabIndex = 0; });
    });
    // Changing a booking: its own seats may be kept; they start picked (or the seats picked before the review).
    keep = (root.dataset.changeSeats || "").split(",").filter(Boolean);
    keep.forEach(function (id) { var b = byId[id]; if (b) { describe(b); } });
    var start = (root.dataset.picked || "").split(",").filter(Boolean);
    (start.length ? start : keep).forEach(function (id) {
      var b = byId[id];
      if (b && isFree(b) && picked.length < maxSeats) { setPicked(b, true); }
    });
    var first = seats.filter(isFree)[0] || seats[0];
    if (first) { first.tabIndex = 0; }
    document.getElementById("best-button").addEventListener("click", best);
    document.getElementById("hold-button").addEventListener("click", hold);
    refreshSummary();
    listen();
  });
})();
