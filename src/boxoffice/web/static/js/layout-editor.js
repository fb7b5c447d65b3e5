// Live preview of a screen layout while it is typed (the server parses it again on submit).
"use strict";
(function () {
  var TYPES = { A: "standard", P: "premium", R: "recliner", W: "wheelchair", C: "companion" };
  function rowLabel(i) {
    var letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    return i < letters.length ? letters[i] : letters[Math.floor(i / letters.length) - 1] + letters[i % letters.length];
  }
  function render(text) {
    var preview = document.getElementById("layout-preview");
    var error = document.getElementById("preview-error");
    var rows = text.replace(/\r/g, "").split("\n").filter(function (l) { return l.trim() !== ""; });
    var count = 0, seated = 0, problem = "";
    var fragment = document.createDocumentFragment();
    rows.forEach(function (line, y) {
      var row = document.createElement("div");
      row.className = "seat-row";
      var label = document.createElement("span");
      label.className = "seat-row-label";
      row.appendChild(label);
      var number = 0;
      line.replace(/\s+$/, "").split("").forEach(function (ch, x) {
        var cell = document.createElement("span");
        if (ch === "_") { cell.className = "seat-gap"; }
        else if (TYPES[ch]) { number += 1; count += 1; cell.className = "seat"; cell.dataset.type = TYPES[ch]; cell.textContent = number; }
        else { cell.className = "seat-gap"; if (!problem) { problem = "Row " + (y + 1) + ", column " + (x + 1) + ": unknown letter \"" + ch + "\"."; } }
        row.appendChild(cell);
      });
      label.textContent = number ? rowLabel(seated) : "";
      if (number) { seated += 1; }
      fragment.appendChild(row);
    });
    preview.replaceChildren(fragment);
    document.getElementById("preview-count").textContent = count + " seats";
    error.textContent = problem;
  }
  document.addEventListener("DOMContentLoaded", function () {
    var area = document.getElementById("s-layout");
    if (!area) { return; }
    area.addEventListener("input", function () { render(area.value); });
    render(area.value);
  });
})();
