// The hold countdown on the checkout page (the server stays the judge of expiry).
"use strict";
(function () {
  document.addEventListener("DOMContentLoaded", function () {
    var el = document.getElementById("countdown");
    if (!el || !el.dataset.expiresAt) { return; }
    var expires = Date.parse(el.dataset.expiresAt);
    var announced = false;
    function tick() {
      var left = Math.max(0, Math.round((expires - Date.now()) / 1000));
      var m = Math.floor(left / 60), s = left % 60;
      el.textContent = m + ":" + String(s).padStart(2, "0");
      if (left <= 60 && !announced) { el.setAttribute("aria-live", "assertive"); announced = true; }
      if (left === 0) {
        document.getElementById("expired-note").hidden = false;
        window.clearInterval(timer);
      }
    }
    var timer = window.setInterval(tick, 1000);
    tick();
  });
})();
