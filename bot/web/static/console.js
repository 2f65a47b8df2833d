// The compose form's live recipient count: asks the console for the count of the audience
// typed so far (same origin, GET, no side effect) and shows it under the field, as three
// small tables: by platform, by language, and who would get nothing (and why). Without this
// script the "Count recipients" button does the same with a page load.
(function () {
  "use strict";
  var field = document.getElementById("audience");
  var box = document.getElementById("reach");
  if (!field || !box) { return; }
  var timer = null;
  var asked = 0;
  function table(id, caption, counts, names, attr) {
    var t = document.createElement("table");
    t.id = id;
    var c = document.createElement("caption");
    c.textContent = caption;
    t.appendChild(c);
    var body = document.createElement("tbody");
    var keys = Object.keys(counts).sort();
    if (!keys.length) {
      var empty = document.createElement("tr");
      var dash = document.createElement("td");
      dash.textContent = "\u2014";
      empty.appendChild(dash);
      body.appendChild(empty);
    }
    keys.forEach(function (k) {
      var row = document.createElement("tr");
      var head = document.createElement("th");
      head.scope = "row";
      head.textContent = names[k] || (k.charAt(0).toUpperCase() + k.slice(1));
      var cell = document.createElement("td");
      cell.className = "n";
      cell.setAttribute(attr, k);
      cell.textContent = String(counts[k]);
      row.appendChild(head);
      row.appendChild(cell);
      body.appendChild(row);
    });
    t.appendChild(body);
    return t;
  }
  function show(data) {
    var p = document.createElement("p");
    p.id = "reach-total";
    if (data.error) {
      p.className = "error";
      p.textContent = data.error;
      box.replaceChildren(p);
      return;
    }
    p.setAttribute("data-total", String(data.total));
    p.textContent = data.text;
    var cols = document.createElement("div");
    cols.className = "cols";
    cols.appendChild(table("reach-platform", data.captions.by_platform, data.by_platform, {}, "data-platform"));
    cols.appendChild(table("reach-language", data.captions.by_language, data.by_language, data.names, "data-lang"));
    cols.appendChild(table("reach-missed", data.captions.not_reached, data.not_reached, data.names, "data-why"));
    box.replaceChildren(p, cols);
  }
  function ask() {
    var mine = ++asked;
    var url = field.getAttribute("data-reach") + "?audience=" + encodeURIComponent(field.value);
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (data) { if (mine === asked) { show(data); } })
      .catch(function () { /* the button still works */ });
  }
  field.addEventListener("input", function () {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(ask, 300);
  });
})();
