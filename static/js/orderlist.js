// The order list's keyboard and selection (T14, F1–F8, F10–F12). Loaded on this screen only, so here F1 means
// "import a CSV" (an auction export), F2 "select all", F3 "clear the selection", F4 "the bulk menu", F5 "search",
// F6 "fetch the latest orders", F7 "mail to the selection", F10 "bundle candidates" and F11 "stock check of the
// selection", and the browser's own keys (help, find next, reload, full screen) everywhere else.
(function () {
  "use strict";
  const screen = document.getElementById("order-screen");
  if (!screen) return;
  const selectionUrl = screen.dataset.selectionUrl;
  const csrf = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"];

  const rows = () => Array.from(document.querySelectorAll("#order-table tbody tr[data-id]"));
  const focused = () => document.querySelector("#order-table tbody tr.by-focus");

  function focusRow(row) {
    if (!row) return;
    rows().forEach((r) => r.classList.remove("by-focus"));
    row.classList.add("by-focus");
    row.focus({ preventScroll: true });
    row.scrollIntoView({ block: "nearest" });
  }

  // Selection changes go to the server one after another: the selection lives in the session, and two
  // requests in flight at once would each save their own copy, losing the other's change.
  let queue = Promise.resolve();

  function post(action, ids, extra) {
    queue = queue.then(() => send(action, ids, extra)).catch(() => {
      const bar = document.getElementById("selection-bar");
      if (bar) bar.dataset.error = "1";
    });
    return queue;
  }

  // Changes say which list they were made on (its filters): a selection of "all matching" another list
  // then becomes the orders it stands for, plus this one.
  function listQuery() {
    const results = document.getElementById("order-results");
    return results ? results.dataset.query || "" : "";
  }

  function send(action, ids, extra) {
    const body = new URLSearchParams({ action: action });
    if (action !== "all_matching") body.append("query", listQuery());
    (ids || []).forEach((id) => body.append("ids", id));
    Object.entries(extra || {}).forEach(([k, v]) => body.append(k, v));
    return fetch(selectionUrl, {
      method: "POST",
      headers: { "X-CSRFToken": csrf, "HX-Request": "true", "Content-Type": "application/x-www-form-urlencoded" },
      body: body,
      credentials: "same-origin",
    }).then((r) => r.text()).then((html) => {
      const bar = document.getElementById("selection-bar");
      if (bar) bar.innerHTML = html;
    });
  }

  // The detail page offers "back to the list" to exactly this search, page and sort.
  function detailUrl(href) {
    return href + (href.includes("?") ? "&" : "?") + "back=" + encodeURIComponent(location.pathname + location.search);
  }

  function pageIds() {
    return rows().map((r) => r.dataset.id);
  }

  function setChecks(fn) {
    rows().forEach((r) => {
      const box = r.querySelector(".by-row-check");
      if (box) box.checked = fn(box);
    });
  }

  document.addEventListener("change", (e) => {
    const box = e.target.closest(".by-row-check");
    if (!box) return;
    post(box.checked ? "add" : "remove", [box.value]);
  });

  document.addEventListener("click", (e) => {
    const button = e.target.closest("[data-select]");
    if (button) {
      const mode = button.dataset.select;
      if (mode === "page") { setChecks(() => true); post("add", pageIds()); }
      if (mode === "none") { setChecks(() => false); post("clear", []); }
      if (mode === "invert") { setChecks((b) => !b.checked); post("toggle", pageIds()); }
      if (mode === "all") { setChecks(() => true); post("all_matching", [], { query: button.dataset.query || "" }); }
      return;
    }
    const open = e.target.closest("#order-table a.by-open");
    if (open && !open.href.includes("back=")) open.href = detailUrl(open.getAttribute("href"));
    const row = e.target.closest("#order-table tbody tr[data-id]");
    if (row && !e.target.closest("a, input, button, label")) focusRow(row);
  });

  document.addEventListener("dblclick", (e) => {
    const row = e.target.closest("#order-table tbody tr[data-id]");
    if (row && !e.target.closest("a, input, button")) window.location.href = detailUrl(row.dataset.href);
  });

  // After "fetch latest" finished (shops' status answer triggers ordersFetched): show the new orders in
  // the table too, for the search and page the operator is on; the status tree refreshes by itself.
  document.body.addEventListener("ordersFetched", () => {
    if (window.htmx && document.getElementById("order-results")) {
      window.htmx.ajax("GET", location.pathname + location.search,
        { target: "#order-results", select: "#order-results", swap: "outerHTML" });
    }
  });

  // F4: open the bulk menu (its forms load the first time it opens) and put the cursor in its first field.
  function openBulk() {
    const panel = document.getElementById("bulk-panel");
    if (!panel) return;
    const focusFirst = () => {
      const field = panel.querySelector("#bulk-status, select, input:not([type=hidden]), textarea");
      if (field) field.focus();
      panel.scrollIntoView({ block: "nearest" });
    };
    if (panel.open && panel.querySelector("#bulk-form")) { focusFirst(); return; }
    if (!panel.querySelector("#bulk-form")) panel.addEventListener("htmx:afterSwap", focusFirst, { once: true });
    panel.open = true;
    if (panel.querySelector("#bulk-form")) focusFirst();
  }

  // F1–F3, F7 (mail to the selection), F10 (bundle candidates) and F11 (stock check) press the buttons (links) that
  // show them; nothing happens when the button is not on the page.
  const KEY_BUTTONS = {
    F1: "#csv-import", F2: "[data-select=all]", F3: "[data-select=none]", F7: "#mail-send", F10: "#bundles-link",
    F11: "#stock-check",
  };

  document.addEventListener("keydown", (e) => {
    const typing = e.target.closest("input, textarea, select, [contenteditable]");
    if (KEY_BUTTONS[e.key]) {
      e.preventDefault();
      const button = document.querySelector(KEY_BUTTONS[e.key]);
      if (button) button.click();
      return;
    }
    if (e.key === "F8") {
      // F8: the send log's problems (the navigation's red count), else the send log.
      e.preventDefault();
      const link = document.getElementById("mail-problems") || document.getElementById("nav-mail");
      if (link) window.location.href = link.href;
      return;
    }
    if (e.key === "F4") {
      e.preventDefault();
      openBulk();
      return;
    }
    if (e.key === "F5") {
      e.preventDefault();
      const q = document.getElementById("search-q");
      if (q) { q.focus(); q.select(); }
      return;
    }
    if (e.key === "F6") {
      // T8: fetch the latest orders now; ignored while a fetch is still running.
      e.preventDefault();
      const button = document.getElementById("fetch-latest");
      const running = document.querySelector("#fetch-status[data-running]");
      if (button && !button.disabled && !running) button.click();
      return;
    }
    if (e.key === "F12" || (e.key === "Enter" && !typing)) {
      const row = focused();
      if (row) { e.preventDefault(); window.location.href = detailUrl(row.dataset.href); }
      return;
    }
    if (typing) {
      if (e.key === "Escape") e.target.blur();
      return;
    }
    const all = rows();
    if (!all.length) return;
    const current = focused();
    const index = current ? all.indexOf(current) : -1;
    if (e.key === "ArrowDown" || e.key === "j") { e.preventDefault(); focusRow(all[Math.min(index + 1, all.length - 1)]); }
    else if (e.key === "ArrowUp" || e.key === "k") { e.preventDefault(); focusRow(all[Math.max(index - 1, 0)]); }
    else if (e.key === " " && current) {
      e.preventDefault();
      const box = current.querySelector(".by-row-check");
      if (box) { box.checked = !box.checked; box.dispatchEvent(new Event("change", { bubbles: true })); }
    }
  });

  // Rows per page: remembered for the operator (a POST), then the same list from its first page (the
  // results, and so this select, are swapped by htmx). If remembering fails, the URL still carries the size.
  document.addEventListener("change", (e) => {
    if (e.target.id !== "per-page") return;
    const size = e.target.value;
    const params = new URLSearchParams(window.location.search);
    params.set("page", "1");
    const go = (remembered) => {
      if (remembered) params.delete("per_page"); else params.set("per_page", size);
      window.location.search = params.toString();
    };
    fetch(screen.dataset.pageSizeUrl, {
      method: "POST",
      headers: { "X-CSRFToken": csrf, "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ page_size: size }),
      credentials: "same-origin",
    }).then((r) => go(r.ok)).catch(() => go(false));
  });
})();
