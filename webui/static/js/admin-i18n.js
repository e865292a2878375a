// Flask-Admin's base template hard-codes a few English texts outside its translation catalog (the
// menu button's aria-label). The page gives the translated text in this script tag's data attributes.
(function () {
  "use strict";
  var me = document.currentScript;
  if (!me) { return; }
  var toggle = me.getAttribute("data-toggle-label");
  document.querySelectorAll('.navbar-toggler[aria-label="Toggle navigation"]').forEach(function (button) {
    if (toggle) { button.setAttribute("aria-label", toggle); }
  });
})();
