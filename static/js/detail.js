// The order page (templates/orders/order_detail.html). A file, not an inline <script>: the Content-Security-Policy
// runs scripts from this site's static files only.
(function () {
  "use strict";
  // Esc leaves the detail page for the list it was opened from (F12 on the list opens it); inside a field,
  // Esc only leaves the field, as on the list.
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape" || e.defaultPrevented) return;
    if (e.target.closest("input, textarea, select, [contenteditable]")) { e.target.blur(); return; }
    if (document.querySelector(".modal.show, .dropdown-menu.show")) return;
    const back = document.getElementById("back-link");
    if (back) { e.preventDefault(); window.location.href = back.href; }
  });
})();
