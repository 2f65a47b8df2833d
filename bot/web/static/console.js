// The compose form's live recipient count: asks the console for the count of the audience
// typed so far (same origin, GET, no side effect) and shows it under the field. Without
// this script the "Count recipients" button does the same with a page load.
(function () {
  "use strict";
  var field = document.getElementById("audience");
  var box = document.getElementById("reach");
  if (!field || !box) { return; }
  var timer = null;
  var asked = 0;
  function show(data) {
    var p = document.createElement("p");
    p.id = "reach-total";
    if (data.error) {
      p.className = "error";
      p.textContent = data.error;
    } else {
      p.setAttribute("data-total", String(data.total));
      var parts = [];
      Object.keys(data.by_platform).sort().forEach(function (k) { parts.push(k + " " + data.by_platform[k]); });
      Object.keys(data.by_language).sort().forEach(function (k) { parts.push(k + " " + data.by_language[k]); });
      p.textContent = data.text + (parts.length ? " (" + parts.join(", ") + ")" : "");
    }
    box.replaceChildren(p);
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
