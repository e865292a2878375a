// DMN decision tables in dmn-js (from npm). Cells are Python expressions (SpiffWorkflow's DMN engine).
(function () {
  "use strict";
  var designer = window.zhifaDesigner;
  var host = document.getElementById("canvas");
  var modeler = new DmnJS({ container: host });
  window.zhifaModeler = modeler;
  modeler.importXML(designer.source()).then(function () {
    // Designers edit rules: open the decision table itself rather than the requirements diagram.
    var table = modeler.getViews().filter(function (v) { return v.type === "decisionTable"; })[0];
    return table ? modeler.open(table) : null;
  }).then(function () {
    host.setAttribute("data-rendered", "1");
  }).catch(function (err) { designer.say("failed", err.message); });
  designer.wire(function () {
    return modeler.saveXML({ format: true }).then(function (result) { return result.xml; });
  }, function (elementId) {
    var view = modeler.getViews().filter(function (v) { return v.element.id === elementId; })[0];
    if (view) { modeler.open(view); }
  });
})();
