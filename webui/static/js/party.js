// 当事人 fields: show the ones of the chosen party type, and the e-service address only with consent.
// Hidden inputs are disabled so that they are not posted (the server drops them anyway).
(function () {
  "use strict";
  const TYPE_FIELDS = {
    citizen: ["party_id_type", "party_id_number"],
    organization: ["party_credit_code", "party_legal_rep", "party_contact"],
  };
  function show(form, name, visible) {
    const box = form.querySelector('[data-field-name="' + name + '"]');
    if (!box) return;
    box.hidden = !visible;
    box.querySelectorAll("input, select, textarea").forEach(function (el) { el.disabled = !visible; });
  }
  function sync(form) {
    const checked = form.querySelector('input[name="party_type"]:checked');
    const type = checked ? checked.value : form.dataset.partyType;
    Object.keys(TYPE_FIELDS).forEach(function (kind) {
      TYPE_FIELDS[kind].forEach(function (name) { show(form, name, !type || type === kind); });
    });
    const consent = form.querySelector('input[name="e_service_consent"]');
    if (consent) show(form, "e_service_address", consent.checked);
  }
  document.querySelectorAll("#case-form, #party-form").forEach(function (form) {
    form.addEventListener("change", function () { sync(form); });
    sync(form);
  });
})();
