// The case page's process diagram: bpmn-js NavigatedViewer (from npm), with the case's completed,
// active and waiting elements marked. No inline script: the page passes the data URL in data-source.
(function () {
  "use strict";
  var host = document.getElementById("diagram");
  if (!host || typeof BpmnJS === "undefined") { return; }
  function fail() {
    host.textContent = host.getAttribute("data-error") || "";
    host.setAttribute("data-rendered", "error");
  }
  fetch(host.getAttribute("data-source"), { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (response) { if (!response.ok) { throw new Error(response.status); } return response.json(); })
    .then(function (payload) {
      if (!payload.xml) { fail(); return null; }
      var viewer = new BpmnJS({ container: host });
      return viewer.importXML(payload.xml).then(function () {
        var canvas = viewer.get("canvas");
        var registry = viewer.get("elementRegistry");
        Object.keys(payload.states || {}).forEach(function (id) {
          if (registry.get(id)) { canvas.addMarker(id, "zf-" + payload.states[id]); }
        });
        canvas.zoom("fit-viewport");
        var active = Object.keys(payload.states || {}).filter(function (id) { return payload.states[id] === "active"; });
        // On a tablet the whole procedure fits only at a tiny scale: show the current step legibly instead.
        if (canvas.zoom() < 0.6 && active.length && registry.get(active[0])) {
          canvas.zoom(0.8);
          canvas.scrollToElement(registry.get(active[0]));
        }
        host.setAttribute("data-active", active.join(" "));
        host.setAttribute("data-rendered", "1");
      });
    })
    .catch(fail);
})();
