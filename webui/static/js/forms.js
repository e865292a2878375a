// Forms that follow the officer's choices (issue 17), loaded on every page; no inline script (CSP).
//  - A field an if/then of the form's schema makes required (data-required-when, written by
//    webui/formrender.py required_when) shows its star once the choice makes it required.
//  - A field needed only for some choice (data-conditional) is hidden, and its inputs disabled so they
//    are not posted, until the choice needs it. The server still checks every rule.
//  - Officer pickers (select[data-officer-picker]) become searchable single or multi selects (Tom Select,
//    from npm); texts come from the page's data attributes, so they follow the page's language.
(function () {
  "use strict";

  function valueOf(form, name) {
    var inputs = Array.prototype.filter.call(form.elements, function (el) { return el.name === name; });
    if (!inputs.length) { return []; }
    var first = inputs[0];
    if (first.type === "checkbox" && inputs.length === 1 && !first.hasAttribute("value")) {
      return [first.checked ? "True" : "False"];  // a yes/no box posts "on" or nothing: the schema's true/false
    }
    if (first.type === "checkbox" || first.type === "radio") {
      return inputs.filter(function (el) { return el.checked; }).map(function (el) { return el.value; });
    }
    if (first.tagName === "SELECT" && first.multiple) {
      return Array.prototype.filter.call(first.options, function (o) { return o.selected; }).map(function (o) { return o.value; });
    }
    return first.value === "" ? [] : [first.value];
  }

  function holds(form, alternatives) {
    return alternatives.some(function (clauses) {
      return clauses.every(function (clause) {
        return valueOf(form, clause.field).some(function (v) { return clause.values.indexOf(v) >= 0; });
      });
    });
  }

  function setEnabled(box, enabled) {
    box.querySelectorAll("input, select, textarea, button").forEach(function (el) {
      if (enabled && el.hasAttribute("data-zf-disabled")) {
        el.disabled = false;
        el.removeAttribute("data-zf-disabled");
      } else if (!enabled && !el.disabled) {
        el.disabled = true;
        el.setAttribute("data-zf-disabled", "1");
      }
      if (el.tomselect) { if (enabled) { el.tomselect.enable(); } else { el.tomselect.disable(); } }
    });
  }

  function refresh(form) {
    form.querySelectorAll(".zf-field[data-required-when]").forEach(function (box) {
      var alternatives;
      try { alternatives = JSON.parse(box.getAttribute("data-required-when")); } catch (e) { return; }
      var required = holds(form, alternatives);
      var star = box.querySelector(".zf-when-star");
      if (star) { star.hidden = !required; }
      box.setAttribute("data-required", required ? "1" : "0");
      box.querySelectorAll("input:not([type=hidden]), select, textarea").forEach(function (el) {
        if (required) { el.setAttribute("aria-required", "true"); } else { el.removeAttribute("aria-required"); }
      });
      if (box.hasAttribute("data-conditional")) {
        var invalid = box.querySelector(".is-invalid");  // a field the server refused stays in view
        var shown = required || !!invalid;
        box.hidden = !shown;
        setEnabled(box, shown);
      }
    });
  }

  function officerPicker(select) {
    if (select.tomselect || typeof TomSelect === "undefined") { return; }
    var max = parseInt(select.getAttribute("data-max-items") || "", 10);
    var noResults = select.getAttribute("data-no-results") || "";
    var options = {
      create: false,
      maxItems: isNaN(max) ? null : max,
      placeholder: select.getAttribute("data-placeholder") || "",
      hidePlaceholder: true,
      maxOptions: null,
      closeAfterSelect: max === 1,
      plugins: max === 1 ? [] : { remove_button: { title: select.getAttribute("data-remove-label") || "" } },
      render: {
        no_results: function () {
          var div = document.createElement("div");
          div.className = "no-results";
          div.textContent = noResults;
          return div;
        }
      }
    };
    new TomSelect(select, options);  // eslint-disable-line no-new
  }

  function init() {
    document.querySelectorAll("select[data-officer-picker]").forEach(officerPicker);
    document.querySelectorAll("form").forEach(function (form) {
      if (!form.querySelector(".zf-field[data-required-when]")) { return; }
      form.addEventListener("change", function () { refresh(form); });
      form.addEventListener("input", function () { refresh(form); });
      refresh(form);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
