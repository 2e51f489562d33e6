// Behaviour every page shares, bound here rather than in on…= attributes: the Content-Security-Policy
// (backyard/settings.py) runs no inline script. Delegated from the document, so content htmx swaps in works too.
(function () {
  "use strict";
  // <select data-submit-on-change> (or a radio / checkbox so marked): choosing submits its form (the company
  // switch, the language, the bundle candidates' options).
  document.addEventListener("change", (e) => {
    const field = e.target.closest("select[data-submit-on-change], input[data-submit-on-change]");
    if (field && field.form) field.form.submit();
  });
  // <button data-history-back>: back to the previous page (the error pages).
  document.addEventListener("click", (e) => {
    if (e.target.closest("[data-history-back]")) history.back();
  });
})();
