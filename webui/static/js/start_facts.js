// 登记案件: each procedure files a case with the facts of its own start form (its BPMN's start_form).
// The page draws the facts of every startable procedure until one is chosen; choosing one hides (and
// disables, so they are not posted) the fields its form does not have. The server keeps only the
// chosen procedure's fields anyway.
(function () {
  "use strict";
  const form = document.getElementById("case-form");
  const select = document.getElementById("f-procedure");
  if (!form || !select || !form.dataset.startFacts) return;
  const procedures = JSON.parse(form.dataset.startFacts);
  function sync() {
    const chosen = select.value;
    Object.keys(procedures).forEach(function (name) {
      const box = form.querySelector('[data-field-name="' + name + '"]');
      if (!box) return;
      const visible = !chosen || procedures[name].indexOf(chosen) >= 0;
      box.hidden = !visible;
      box.querySelectorAll("input, select, textarea").forEach(function (el) { el.disabled = !visible; });
    });
  }
  select.addEventListener("change", sync);
  sync();
})();
