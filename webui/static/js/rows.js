// Rows of an array field (evidence items, records): add a row from its <template>, remove a row.
// Inputs are named <field>-<index>-<sub>; the server reads whatever indexes arrive.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var add = event.target.closest("[data-add-row]");
    if (add) {
      var name = add.getAttribute("data-add-row");
      var table = document.querySelector('table[data-rows="' + name + '"] tbody');
      var template = document.querySelector('template[data-row-template="' + name + '"]');
      if (!table || !template) { return; }
      var next = 0;
      table.querySelectorAll("[name^='" + name + "-']").forEach(function (input) {
        var index = parseInt(input.name.split("-")[1], 10);
        if (!isNaN(index) && index >= next) { next = index + 1; }
      });
      var html = template.innerHTML.split("__i__").join(String(next));
      table.insertAdjacentHTML("beforeend", html);
      return;
    }
    var remove = event.target.closest("[data-remove-row]");
    if (remove) {
      var row = remove.closest("tr");
      if (row) { row.remove(); }
    }
  });
})();
