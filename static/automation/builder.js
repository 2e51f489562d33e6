// The admin's builder for a rule's conditions and actions: rows of selects and inputs that keep the JSON text
// area below in step. The text area is what the form posts; "JSON" shows it for those who prefer typing.
(function () {
  "use strict";

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => {
      if (k === "text") node.textContent = v;
      else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : v);
    });
    (children || []).forEach((c) => node.appendChild(c));
    return node;
  }

  function select(options, value, label) {
    const s = el("select", { "aria-label": label });
    options.forEach(([v, text]) => {
      const o = el("option", { value: String(v), text: text });
      if (String(v) === String(value)) o.selected = true;
      s.appendChild(o);
    });
    return s;
  }

  const NO_VALUE = new Set(["empty", "not_empty"]);
  const LIST = new Set(["in", "not_in"]);

  function numberOrText(kind, raw) {
    if (kind === "number" || kind === "choice" || kind === "multi_choice") {
      const n = Number(raw);
      return raw !== "" && Number.isFinite(n) && String(raw).trim() !== "" ? n : raw;
    }
    return raw;
  }

  // --- conditions ------------------------------------------------------------------------------------------
  function conditionValue(field, op, value, onChange) {
    const text = conditionValue.text;
    if (NO_VALUE.has(op)) return null;
    if (field.kind === "bool") {
      return select([["true", text.yes], ["false", text.no]], value === false ? "false" : "true", field.label);
    }
    if (op === "between") {
      const [low, high] = Array.isArray(value) ? value : ["", ""];
      const a = el("input", { type: "number", value: low ?? "", "aria-label": text.from, size: 8 });
      const b = el("input", { type: "number", value: high ?? "", "aria-label": text.to, size: 8 });
      const box = el("span", {}, [a, el("span", { text: " – " }), b]);
      box.read = () => [Number(a.value), Number(b.value)];
      a.addEventListener("input", onChange); b.addEventListener("input", onChange);
      return box;
    }
    if (field.choices && LIST.has(op)) {
      const chosen = new Set((Array.isArray(value) ? value : [value]).map(String));
      const box = el("span", { class: "by-builder-checks" });
      field.choices.forEach(([v, label]) => {
        const input = el("input", { type: "checkbox", value: String(v) });
        input.checked = chosen.has(String(v));
        input.addEventListener("change", onChange);
        box.appendChild(el("label", {}, [input, document.createTextNode(" " + label)]));
      });
      box.read = () => Array.from(box.querySelectorAll("input:checked")).map((i) => numberOrText(field.kind, i.value));
      return box;
    }
    if (field.choices) {
      const s = select(field.choices, value, field.label);
      s.read = () => numberOrText(field.kind, s.value);
      s.addEventListener("change", onChange);
      return s;
    }
    const shown = Array.isArray(value) ? value.join(", ") : (value ?? "");
    const input = el("input", { type: field.kind === "number" ? "number" : "text", value: shown, size: 24,
                                 placeholder: LIST.has(op) ? text.list : "", "aria-label": field.label });
    input.read = () => LIST.has(op)
      ? input.value.split(/[,、，]/).map((v) => v.trim()).filter(Boolean)
      : numberOrText(field.kind, input.value.trim());
    input.addEventListener("input", onChange);
    return input;
  }

  function conditionsBuilder(root, schema, textarea) {
    const text = schema.text;
    conditionValue.text = text;
    const byCode = Object.fromEntries(schema.fields.map((f) => [f.code, f]));
    let data;
    try { data = JSON.parse(textarea.value || "{}"); } catch (e) { return false; }
    if (!data || typeof data !== "object" || Array.isArray(data)) data = {};
    const state = { match: data.match === "any" ? "any" : "all", items: Array.isArray(data.items) ? data.items : [] };
    const rowsBox = root.querySelector(".by-builder-rows");

    function write() {
      const items = Array.from(rowsBox.querySelectorAll(".by-builder-row")).map((row) => row.read());
      const match = rowsBox.querySelector("input[name$='-match']:checked");
      textarea.value = JSON.stringify({ match: match ? match.value : "all", items: items }, null, 2);
    }

    function row(item) {
      const line = el("div", { class: "by-builder-row" });
      const fieldSel = select(schema.fields.map((f) => [f.code, f.label]), item.field, "field");
      let opSel, valueNode;
      function rebuild(keepValue) {
        const field = byCode[fieldSel.value] || schema.fields[0];
        const ops = field.ops.map((o) => [o.code, o.label]);
        const op = ops.some(([c]) => c === (opSel && opSel.value)) ? opSel.value : (ops.some(([c]) => c === item.op) ? item.op : ops[0][0]);
        const newOp = select(ops, op, "operator");
        newOp.addEventListener("change", () => { item.op = newOp.value; rebuild(false); write(); });
        if (opSel) line.replaceChild(newOp, opSel); else line.appendChild(newOp);
        opSel = newOp;
        const node = conditionValue(field, op, keepValue ? item.value : undefined, write) || el("span");
        if (valueNode) line.replaceChild(node, valueNode); else line.appendChild(node);
        valueNode = node;
      }
      fieldSel.addEventListener("change", () => { item.field = fieldSel.value; rebuild(false); write(); });
      line.appendChild(fieldSel);
      rebuild(true);
      const remove = el("button", { type: "button", class: "button", text: text.remove });
      remove.addEventListener("click", () => { line.remove(); write(); empty(); });
      line.appendChild(remove);
      line.read = () => {
        const out = { field: fieldSel.value, op: opSel.value };
        if (!NO_VALUE.has(opSel.value)) {
          const field = byCode[fieldSel.value];
          out.value = valueNode.read ? valueNode.read() : (field.kind === "bool" ? valueNode.value === "true" : valueNode.value);
          if (field.kind === "bool" && typeof out.value === "string") out.value = out.value === "true";
        }
        return out;
      };
      return line;
    }

    const note = el("div", { class: "by-builder-empty", text: text.none });
    function empty() { note.hidden = rowsBox.querySelectorAll(".by-builder-row").length > 0; }

    const name = textarea.name;
    const match = el("div", { class: "by-builder-match" });
    [["all", text.all], ["any", text.any]].forEach(([v, label]) => {
      const id = `${textarea.id}-match-${v}`;
      const radio = el("input", { type: "radio", name: `${name}-match`, value: v, id: id });
      radio.checked = state.match === v;
      radio.addEventListener("change", write);
      match.appendChild(radio); match.appendChild(el("label", { for: id, text: label }));
    });
    rowsBox.appendChild(match);
    state.items.forEach((item) => rowsBox.appendChild(row(Object.assign({}, item))));
    rowsBox.appendChild(note);
    const add = el("button", { type: "button", class: "button", text: text.add });
    add.addEventListener("click", () => { rowsBox.insertBefore(row({ field: schema.fields[0].code }), note); empty(); write(); });
    rowsBox.appendChild(add);
    empty();
    return true;
  }

  // --- actions ---------------------------------------------------------------------------------------------
  function actionsBuilder(root, schema, textarea) {
    const text = schema.text;
    const byCode = Object.fromEntries(schema.types.map((t) => [t.code, t]));
    let data;
    try { data = JSON.parse(textarea.value || "[]"); } catch (e) { return false; }
    if (!Array.isArray(data)) data = [];
    const rowsBox = root.querySelector(".by-builder-rows");

    function write() {
      const items = Array.from(rowsBox.querySelectorAll(".by-builder-row")).map((row) => row.read());
      textarea.value = JSON.stringify(items, null, 2);
    }

    function row(item) {
      const line = el("div", { class: "by-builder-row" });
      const typeSel = select(schema.types.map((t) => [t.code, t.label]), item.type, "action");
      let inputs = [];
      function rebuild() {
        inputs.forEach((n) => n.remove());
        inputs = [];
        const type = byCode[typeSel.value] || schema.types[0];
        type.settings.forEach((setting) => {
          let node;
          if (setting.choices) {
            node = select(setting.choices, item[setting.name], setting.label);
            node.addEventListener("change", write);
          } else {
            node = el("input", { type: setting.kind === "number" ? "number" : "text", value: item[setting.name] ?? "",
                                 placeholder: setting.label, "aria-label": setting.label, size: setting.kind === "number" ? 8 : 24 });
            node.addEventListener("input", write);
          }
          node.dataset.setting = setting.name;
          node.dataset.kind = setting.choices ? "choice" : setting.kind;
          line.insertBefore(node, remove);
          inputs.push(node);
        });
      }
      const remove = el("button", { type: "button", class: "button", text: text.remove });
      remove.addEventListener("click", () => { line.remove(); write(); empty(); });
      line.appendChild(typeSel);
      line.appendChild(remove);
      typeSel.addEventListener("change", () => { item = { type: typeSel.value }; rebuild(); write(); });
      rebuild();
      line.read = () => {
        const out = { type: typeSel.value };
        inputs.forEach((n) => {
          const raw = n.value.trim();
          out[n.dataset.setting] = n.dataset.kind === "text" ? raw : numberOrText("number", raw);
        });
        return out;
      };
      return line;
    }

    const note = el("div", { class: "by-builder-empty", text: text.none });
    function empty() { note.hidden = rowsBox.querySelectorAll(".by-builder-row").length > 0; }
    data.forEach((item) => rowsBox.appendChild(row(Object.assign({}, item))));
    rowsBox.appendChild(note);
    const add = el("button", { type: "button", class: "button", text: text.add });
    add.addEventListener("click", () => { rowsBox.insertBefore(row({ type: schema.types[0].code }), note); empty(); write(); });
    rowsBox.appendChild(add);
    empty();
    return true;
  }

  function start(root) {
    const textarea = root.querySelector("textarea");
    const schemaNode = document.getElementById(root.dataset.schema);
    if (!textarea || !schemaNode) return;
    const schema = JSON.parse(schemaNode.textContent);
    const built = root.dataset.builder === "conditions"
      ? conditionsBuilder(root, schema, textarea)
      : actionsBuilder(root, schema, textarea);
    if (!built) return; // JSON the builder cannot read: the text area stays, with the form's error
    textarea.classList.add("by-builder-json");
    // The field's help describes the JSON: shown with the JSON, not under the builder.
    const help = document.getElementById(`${textarea.id}_helptext`);
    if (help) help.hidden = true;
    const toggle = el("a", { href: "#", class: "by-builder-toggle", text: "JSON" });
    toggle.addEventListener("click", (e) => {
      e.preventDefault();
      const shown = !textarea.classList.toggle("by-builder-json");
      if (help) help.hidden = !shown;
    });
    root.appendChild(toggle);
  }

  function init() { document.querySelectorAll(".by-builder[data-builder]").forEach(start); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
