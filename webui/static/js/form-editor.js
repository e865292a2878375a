// Form schemas: JSON on the left, the form as officers will see it on the right (rendered by the
// server with the same macros as the task page), refreshed as the designer types.
(function () {
  "use strict";
  var designer = window.zhifaDesigner;
  var host = document.getElementById("canvas");
  var editor = document.getElementById("form-json");
  var preview = document.getElementById("preview");
  var timer = null;

  function refresh() {
    fetch(host.getAttribute("data-preview"), {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": document.querySelector('meta[name="csrf-token"]').content },
      body: JSON.stringify({ content: editor.value })
    }).then(function (r) { return r.text(); }).then(function (html) {
      preview.innerHTML = html;  // server-rendered with every value escaped
      preview.setAttribute("data-rendered", String(Date.now()));
    });
  }
  editor.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 400);
  });
  refresh();
  designer.wire(function () { return Promise.resolve(editor.value); }, null);
})();
