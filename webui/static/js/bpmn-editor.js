// BPMN in the bpmn-js Modeler (from npm) with zhifa's properties panel: a user task's form,
// time limit, credential, separation of duty and document are picked from what exists.
(function () {
  "use strict";
  var designer = window.zhifaDesigner;
  var host = document.getElementById("canvas");
  var panel = document.getElementById("properties");
  var labels = JSON.parse(panel.getAttribute("data-labels"));

  // SpiffWorkflow's extension elements, so bpmn-js reads and writes them instead of dropping them.
  var spiff = {
    name: "SpiffWorkflow", prefix: "spiffworkflow", uri: "http://spiffworkflow.org/bpmn/schema/1.0/core",
    xml: { tagAlias: "lowerCase" }, associations: [],
    types: [
      { name: "Properties", superClass: ["Element"], properties: [{ name: "properties", type: "Property", isMany: true }] },
      { name: "Property", superClass: ["Element"], properties: [
        { name: "name", isAttr: true, type: "String" }, { name: "value", isAttr: true, type: "String" }] },
      { name: "InstructionsForEndUser", superClass: ["Element"], properties: [{ name: "value", isBody: true, type: "String" }] },
      { name: "PreScript", superClass: ["Element"], properties: [{ name: "value", isBody: true, type: "String" }] },
      { name: "PostScript", superClass: ["Element"], properties: [{ name: "value", isBody: true, type: "String" }] },
      { name: "CalledDecisionId", superClass: ["Element"], properties: [{ name: "value", isBody: true, type: "String" }] }
    ]
  };
  var modeler = new BpmnJS({ container: host, moddleExtensions: { spiffworkflow: spiff } });
  window.zhifaModeler = modeler;  // for scripted checks and the browser tests
  var options = { forms: [], time_limits: [], credentials: {}, lanes: {} };

  fetch(host.getAttribute("data-options"), { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (r) { return r.json(); }).then(function (json) { options = json; });

  modeler.importXML(designer.source()).then(function () {
    modeler.get("canvas").zoom("fit-viewport");
    host.setAttribute("data-rendered", "1");
  }).catch(function (err) { designer.say("failed", err.message); });

  var moddle = modeler.get("moddle");
  var modeling = modeler.get("modeling");
  var registry = modeler.get("elementRegistry");

  modeler.get("eventBus").on("selection.changed", function (event) {
    render(event.newSelection.length === 1 ? event.newSelection[0] : null);
  });
  modeler.get("eventBus").on("element.changed", function (event) {
    var selected = modeler.get("selection").get();
    if (selected.length === 1 && selected[0] === event.element && !panel.contains(document.activeElement)) { render(event.element); }
  });

  function ext(bo, type) {
    var values = (bo.extensionElements && bo.extensionElements.values) || [];
    return values.filter(function (v) { return v.$type === type; })[0];
  }
  function prop(bo, key) {
    var props = ext(bo, "spiffworkflow:Properties");
    var found = props ? (props.properties || []).filter(function (p) { return p.name === key; })[0] : null;
    return found ? found.value : "";
  }
  function extensionsOf(element) {
    var bo = element.businessObject;
    return bo.extensionElements || moddle.create("bpmn:ExtensionElements", { values: [] });
  }
  function setProp(element, key, value) {
    var extensions = extensionsOf(element);
    var props = extensions.values.filter(function (v) { return v.$type === "spiffworkflow:Properties"; })[0];
    if (!props) { props = moddle.create("spiffworkflow:Properties", { properties: [] }); extensions.values.push(props); }
    props.properties = (props.properties || []).filter(function (p) { return p.name !== key; });
    if (value) { props.properties.push(moddle.create("spiffworkflow:Property", { name: key, value: value })); }
    modeling.updateProperties(element, { extensionElements: extensions });
  }
  function setInstructions(element, value) {
    var extensions = extensionsOf(element);
    extensions.values = extensions.values.filter(function (v) { return v.$type !== "spiffworkflow:InstructionsForEndUser"; });
    if (value) { extensions.values.unshift(moddle.create("spiffworkflow:InstructionsForEndUser", { value: value })); }
    modeling.updateProperties(element, { extensionElements: extensions });
  }

  function field(id, label, control) {
    var wrap = document.createElement("div");
    wrap.className = "mb-2";
    var l = document.createElement("label");
    l.className = "form-label mb-0";
    l.htmlFor = id;
    l.textContent = label;
    control.id = id;
    wrap.appendChild(l);
    wrap.appendChild(control);
    panel.appendChild(wrap);
    return control;
  }
  function input(value) {
    var el = document.createElement("input");
    el.className = "form-control form-control-sm";
    el.value = value || "";
    return el;
  }
  function select(value, choices, multiple) {
    var el = document.createElement("select");
    el.className = "form-select form-select-sm";
    el.multiple = !!multiple;
    if (!multiple) { choices = [["", labels.none]].concat(choices); }
    var chosen = multiple ? (value || "").split(",").filter(Boolean) : [value || ""];
    choices.forEach(function (c) {
      var o = document.createElement("option");
      o.value = c[0];
      o.textContent = c[1];
      o.selected = chosen.indexOf(c[0]) >= 0;
      el.appendChild(o);
    });
    if (multiple) { el.size = Math.min(6, Math.max(2, choices.length)); }
    return el;
  }

  function render(element) {
    panel.innerHTML = "";
    if (!element || element.type === "label") {
      panel.textContent = panel.getAttribute("data-empty");
      return;
    }
    var bo = element.businessObject;
    panel.setAttribute("data-element-id", bo.id);
    var idField = field("prop-id", labels.id, input(bo.id));
    idField.readOnly = true;
    var name = field("prop-name", labels.name, input(bo.name));
    name.addEventListener("change", function () { modeling.updateLabel(element, name.value); });
    if (element.type !== "bpmn:UserTask") { return; }
    var lane = registry.filter(function (e) {
      return e.type === "bpmn:Lane" && (e.businessObject.flowNodeRef || []).indexOf(bo) >= 0;
    })[0];
    var laneName = lane ? lane.businessObject.name : "";
    var laneInfo = field("prop-lane", labels.lane, input(laneName + (options.lanes[laneName] ? "（" + options.lanes[laneName] + "）" : "")));
    laneInfo.readOnly = true;
    var forms = options.forms.map(function (f) { return [f, f]; });
    var limits = options.time_limits.map(function (t) { return [t.key, t.name + "（" + t.key + "）"]; });
    var creds = Object.keys(options.credentials).map(function (k) { return [k, options.credentials[k]]; });
    var tasks = registry.filter(function (e) { return e.type === "bpmn:UserTask" && e !== element; })
      .map(function (e) { return [e.businessObject.id, (e.businessObject.name || "") + "（" + e.businessObject.id + "）"]; });
    var separate = prop(bo, "separate_from");
    (separate || "").split(",").filter(function (s) { return s.charAt(0) === "@"; }).forEach(function (s) { tasks.push([s, s]); });
    [["form", forms, false], ["time_limit", limits, false], ["requires_credential", creds, false], ["separate_from", tasks, true]]
      .forEach(function (spec) {
        var el = field("prop-" + spec[0], labels[spec[0]], select(prop(bo, spec[0]), spec[1], spec[2]));
        el.addEventListener("change", function () {
          var value = spec[2] ? Array.prototype.filter.call(el.options, function (o) { return o.selected; })
            .map(function (o) { return o.value; }).join(",") : el.value;
          setProp(element, spec[0], value);
        });
      });
    var doc = field("prop-document", labels.document, input(prop(bo, "document")));
    doc.addEventListener("change", function () { setProp(element, "document", doc.value.trim()); });
    var instr = ext(bo, "spiffworkflow:InstructionsForEndUser");
    var ta = document.createElement("textarea");
    ta.className = "form-control form-control-sm";
    ta.rows = 5;
    ta.value = instr ? instr.value || "" : "";
    field("prop-instructions", labels.instructions, ta).addEventListener("change", function () { setInstructions(element, ta.value); });
  }

  function select_element(id) {
    var element = registry.get(id);
    if (!element) { return; }
    modeler.get("selection").select(element);
    modeler.get("canvas").scrollToElement(element);
  }

  designer.wire(function () {
    return modeler.saveXML({ format: true }).then(function (result) { return result.xml; });
  }, select_element);
})();
