// The mail template editor (mailer/admin.py): a placeholder clicked in the list beside the body is inserted
// at the cursor of the body (or of the subject, when the cursor was last there).
(function () {
  "use strict";
  let last = null;
  document.addEventListener("focusin", (e) => {
    if (e.target.matches("#id_body, #id_subject")) last = e.target;
  });
  document.addEventListener("click", (e) => {
    const button = e.target.closest("button.by-placeholder");
    if (!button) return;
    e.preventDefault();
    const field = last || document.getElementById("id_body");
    if (!field) return;
    const text = button.dataset.insert;
    const start = field.selectionStart ?? field.value.length;
    const end = field.selectionEnd ?? start;
    field.value = field.value.slice(0, start) + text + field.value.slice(end);
    field.focus();
    field.selectionStart = field.selectionEnd = start + text.length;
  });
})();
