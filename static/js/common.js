// Behaviour every page shares, bound here rather than in on…= attributes: the Content-Security-Policy
// (backyard/settings.py) runs no inline script. Delegated from the document, so content htmx swaps in works too.
(function () {
  "use strict";
  // <select data-submit-on-change>: choosing submits its form (the company switch, the language).
  document.addEventListener("change", (e) => {
    const select = e.target.closest("select[data-submit-on-change]");
    if (select && select.form) select.form.submit();
  });
  // <button data-history-back>: back to the previous page (the error pages).
  document.addEventListener("click", (e) => {
    if (e.target.closest("[data-history-back]")) history.back();
  });
})();
