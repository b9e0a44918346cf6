// The compose page: count the SMS as residents get it, live (the same rules as linli.comms.broadcasts.sms),
// show it, and tick or clear every building at once.
(function () {
  "use strict";
  const GSM = new Set(Array.from("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"));
  const EXT = new Set(Array.from("^{}\\[~]|€\f"));
  const PLACEHOLDER = /\{(community|date|time|place|phone)\}/g;

  function segments(text) {
    if (!text) return [0, 0];
    const chars = Array.from(text);
    if (chars.every((ch) => GSM.has(ch) || EXT.has(ch))) {
      const n = chars.reduce((sum, ch) => sum + (EXT.has(ch) ? 2 : 1), 0);
      return [n, n <= 160 ? 1 : Math.ceil(n / 153)];
    }
    const n = text.length; // UTF-16 code units, as UCS-2 counts them
    return [n, n <= 70 ? 1 : Math.ceil(n / 67)];
  }

  function value(form, name) {
    const field = form.querySelector(`[name="${name}"]`);
    return field ? field.value.trim() : "";
  }

  function update(form) {
    const box = form.querySelector("[data-sms-counter]");
    if (!box) return;
    const title = value(form, "title");
    const body = value(form, "body");
    const ack = form.querySelector("[name=require_ack]");
    let text = title && body ? title + box.dataset.separator + body : title || body;
    if (ack && ack.checked) text += box.dataset.ackSuffix;
    const full = box.dataset.signature + text;
    const [n, parts] = segments(full);
    const over = parts > Number(box.dataset.max);
    box.querySelector("[data-chars]").textContent = n;
    box.querySelector("[data-parts]").textContent = parts;
    box.classList.toggle("over", over);
    box.querySelector("[data-over]").hidden = !over;
    const left = Array.from(new Set((title + " " + body).match(PLACEHOLDER) || []));
    const warn = box.querySelector("[data-placeholders]");
    warn.hidden = left.length === 0;
    warn.querySelector("[data-names]").textContent = left.join("、");
    const preview = form.querySelector("[data-sms-preview]");
    if (preview) preview.textContent = full;
  }

  function setup() {
    const form = document.getElementById("compose-form");
    if (!form) return;
    form.addEventListener("input", () => update(form));
    form.addEventListener("change", () => update(form));
    document.body.addEventListener("htmx:afterSwap", () => update(form));
    form.querySelectorAll("[data-check]").forEach((button) => {
      button.addEventListener("click", () => {
        const on = button.dataset.value === "1";
        form.querySelectorAll(`input[name="${button.dataset.check}"]`).forEach((box) => { box.checked = on; });
        form.dispatchEvent(new Event("change", { bubbles: true }));
      });
    });
    update(form);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();
