// The phone/FAX order form: add and remove lines, "same as the orderer", running totals, and focus after a
// postal-code lookup (the lookup itself is htmx: see the postal-code inputs' hx-* attributes).
// The postal-code inputs' htmx trigger asks this: look up as soon as seven digits are typed (any width).
window.byPostalComplete = (input) => input.value.normalize("NFKC").replace(/[^0-9]/g, "").length === 7;

(function () {
  "use strict";
  const form = document.getElementById("order-entry");
  if (!form) return;
  const rows = document.getElementById("line-rows");
  const template = document.getElementById("line-template");
  const totalForms = form.querySelector("[name='lines-TOTAL_FORMS']");
  const maxLines = parseInt(form.dataset.maxLines, 10) || 100;
  const same = form.querySelector("[name='same_as_orderer']");
  const destFields = document.getElementById("dest-fields");
  const COPIED = ["name", "kana", "phone", "postal_code", "prefecture", "city", "address1", "address2"];

  const yen = (value) => {
    const n = parseInt(String(value || "").normalize("NFKC").replace(/[,\s¥]/g, ""), 10);
    return Number.isFinite(n) ? n : 0;
  };
  const fmt = (n) => "¥" + n.toLocaleString("ja-JP");

  function visibleRows() {
    return Array.from(rows.querySelectorAll("tr.by-line")).filter((tr) => !tr.classList.contains("d-none"));
  }

  function recalc() {
    let items = 0;
    visibleRows().forEach((tr) => {
      const price = tr.querySelector(".by-price");
      const qty = tr.querySelector(".by-qty");
      const cell = tr.querySelector(".by-amount");
      if (!price || !qty) return;
      const filled = price.value.trim() !== "";
      const amount = yen(price.value) * yen(qty.value) + 0; // never "-0"
      items += amount;
      cell.textContent = filled ? fmt(amount) : "";
    });
    const fee = (name) => yen(form.elements[name] && form.elements[name].value);
    const total = items + fee("shipping_fee") + fee("cod_fee") - fee("discount");
    document.getElementById("sum-items").textContent = fmt(items);
    const totalCell = document.getElementById("sum-total");
    totalCell.textContent = fmt(total);
    totalCell.classList.toggle("text-danger", total < 0);
  }

  function renumber() {
    visibleRows().forEach((tr, i) => { tr.querySelector(".by-line-no").textContent = String(i + 1); });
  }

  function addLine() {
    const index = parseInt(totalForms.value, 10);
    if (index >= maxLines) return;
    rows.insertAdjacentHTML("beforeend", template.innerHTML.replace(/__prefix__/g, String(index)));
    totalForms.value = String(index + 1);
    renumber();
    rows.lastElementChild.querySelector("input").focus();
  }

  function removeLine(tr) {
    tr.querySelector(".by-delete").value = "on";
    tr.classList.add("d-none");
    renumber();
    recalc();
  }

  function copyOrderer() {
    if (!same || !same.checked) return;
    COPIED.forEach((name) => {
      const src = form.elements["orderer_" + name];
      const dst = form.elements["dest_" + name];
      if (src && dst) dst.value = src.value;
    });
  }

  function syncSame() {
    if (!same) return;
    destFields.disabled = same.checked;
    if (same.checked) document.getElementById("dest-postal-result").textContent = "";
    copyOrderer();
  }

  document.getElementById("add-line").addEventListener("click", addLine);
  rows.addEventListener("click", (e) => {
    const button = e.target.closest(".by-remove");
    if (button) removeLine(button.closest("tr"));
  });
  form.addEventListener("input", (e) => {
    if ((e.target.name || "").startsWith("orderer_")) copyOrderer();
    recalc();
  });
  form.addEventListener("change", (e) => {
    if (e.target === same) syncSame();
    else if ((e.target.name || "").startsWith("orderer_")) copyOrderer();
  });
  form.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      form.requestSubmit();
    }
  });

  // After a postal-code lookup filled a party's address: mirror it to the destination when it is the same,
  // and put the cursor at the end of address line 1 when the operator had tabbed on to prefecture or city.
  document.body.addEventListener("htmx:afterSettle", (e) => {
    const found = e.detail.target && e.detail.target.querySelector("[data-postal='found']");
    copyOrderer();
    if (!found) return;
    const party = found.dataset.party;
    const postal = form.elements[party + "_postal_code"];
    if (postal && found.dataset.code && document.activeElement !== postal) postal.value = found.dataset.code;
    copyOrderer();
    const active = document.activeElement;
    const passed = [form.elements[party + "_prefecture"], form.elements[party + "_city"]];
    if (active === document.body || passed.includes(active)) {
      const line = form.elements[party + "_address1"];
      line.focus();
      line.setSelectionRange(line.value.length, line.value.length);
    }
  });

  syncSame();
  recalc();
  // A refused submission: start at the first field to correct.
  const invalid = form.querySelector(".is-invalid:not(:disabled)");
  if (invalid) invalid.focus();
})();
