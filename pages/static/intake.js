/*! intake.js — the client half of Intake's exactly-once promise. No dependencies.
 *
 * For every <form data-intake> on the page it:
 *   - makes one idempotency key per user intent, kept in sessionStorage under a
 *     name derived from the form's action URL until a real answer arrives, so a
 *     reload or a retry after a network error sends the same key again;
 *   - puts the key in the hidden input _idempotency_key (and the
 *     Idempotency-Key header), and how long the form was open before it was
 *     sent, in milliseconds, in the hidden input _fill_ms (the form's
 *     minimum fill time judges it; neither is stored as data);
 *   - locks the form on the first submit (any button, Enter in a field) and
 *     ignores every further submit until a real response arrives;
 *   - sends with fetch and shows the outcome in the form, or, without fetch,
 *     lets the browser post the form as plain HTML;
 *   - after an answer that spent or refused a CAPTCHA token (Turnstile,
 *     hCaptcha, reCAPTCHA widgets in the form), resets the widget so the
 *     person can get a fresh token.
 *
 * Markup hooks (all optional): data-sending on a submit button (its text while
 * sending), data-success on the form (the success message), data-intake-inline
 * on the form (show the success message in place instead of going to the
 * thank-you page the answer names), an element with
 * data-intake-notice inside the form (where messages go; made when missing).
 * Classes for styling: intake-notice, intake-message (--error, --success),
 * intake-field-error; the form gets aria-busy="true" and
 * data-intake-state="sending" while it is locked.
 */
(function () {
  "use strict";

  if (typeof window === "undefined" || typeof document === "undefined") {
    return;
  }
  if (window.Intake && typeof window.Intake.enhance === "function") {
    return; // loaded twice: the first copy already handles the forms
  }

  const KEY_FIELD = "_idempotency_key";
  const FILL_FIELD = "_fill_ms";
  // The providers' token fields, and for each the class of its widget's
  // element and its script's global.
  const CAPTCHAS = [
    { field: "cf-turnstile-response", widget: "cf-turnstile", api: "turnstile" },
    { field: "h-captcha-response", widget: "h-captcha", api: "hcaptcha" },
    { field: "g-recaptcha-response", widget: "g-recaptcha", api: "grecaptcha" },
  ];
  const CAPTCHA_PROBLEMS = ["/captcha-failed", "/captcha-unavailable"];
  const KEY_PREFIX = "intake:idempotency-key:";
  const NATIVE_PREFIX = "intake:native-post:";
  const ANSWERED_PREFIX = "intake:answered:";
  // How long an answered submission's key is reused for the same values: a
  // Back and Send again of the same form within this window is the same
  // intent (as the server's implicit key treats plain posts).
  const ANSWERED_WINDOW_MS = 10 * 60 * 1000;
  const REUSED = "/idempotency-key-reused";

  const MSG_SENDING = "Sending\u2026";
  const MSG_SUCCESS = "Thank you \u2014 your submission was received.";
  const MSG_RETRY = "Not sent yet \u2014 please try again. Trying again is safe: it will not be sent twice.";
  const MSG_FIX_ONE = "Please fix this problem and send again:";
  const MSG_FIX_MANY = "Please fix these problems and send again:";

  const states = new WeakMap(); // form -> its state
  const forms = []; // enhanced forms, for pageshow
  let errorSeq = 0;

  // Storage. sessionStorage can be missing or throw (storage disabled, some
  // private modes); the in-memory copy still gives one key per intent for the
  // life of the page.

  const memory = Object.create(null);

  function storeGet(name) {
    if (name in memory) {
      return memory[name];
    }
    try {
      return window.sessionStorage.getItem(name);
    } catch (e) {
      return null;
    }
  }

  function storeSet(name, value) {
    memory[name] = value;
    try {
      window.sessionStorage.setItem(name, value);
    } catch (e) {
      // memory holds it
    }
  }

  function storeDel(name) {
    delete memory[name];
    try {
      window.sessionStorage.removeItem(name);
    } catch (e) {
      // nothing stored
    }
  }

  // Keys.

  function newKey() {
    const c = window.crypto;
    if (c && typeof c.randomUUID === "function") {
      try {
        return c.randomUUID(); // secure contexts only
      } catch (e) {
        // fall through
      }
    }
    const b = new Uint8Array(16);
    if (c && typeof c.getRandomValues === "function") {
      c.getRandomValues(b);
    } else {
      for (let i = 0; i < b.length; i++) {
        b[i] = Math.floor(Math.random() * 256); // a unique key is all that is needed
      }
    }
    b[6] = (b[6] & 0x0f) | 0x40; // version 4
    b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
    const h = Array.prototype.map.call(b, (x) => (x + 0x100).toString(16).slice(1)).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  // currentKey returns the stored key of the intent under way for target, or
  // starts a new intent.
  function currentKey(target) {
    const stored = storeGet(KEY_PREFIX + target);
    if (stored) {
      return stored;
    }
    return freshKey(target);
  }

  function freshKey(target) {
    const key = newKey();
    storeSet(KEY_PREFIX + target, key);
    return key;
  }

  // endIntent forgets target's key: a real answer arrived.
  function endIntent(target) {
    storeDel(KEY_PREFIX + target);
    storeDel(NATIVE_PREFIX + target);
  }

  function setKeyField(form, key) {
    setHidden(form, KEY_FIELD, key);
  }

  function setHidden(form, name, value) {
    let input = querySelector.call(form, 'input[name="' + name + '"]');
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      form.appendChild(input);
    }
    input.value = value;
  }

  // Fill time.

  // now is a monotonic clock in milliseconds where there is one: a changed
  // system clock must not make a person look fast.
  function now() {
    const perf = window.performance;
    if (perf && typeof perf.now === "function") {
      return perf.now();
    }
    return Date.now();
  }

  // setFillTime reports how long the form has been open: since the script
  // took it on (the page was loaded, or the form added). A page restored
  // from the back-forward cache keeps counting from its first load.
  function setFillTime(form, st) {
    setHidden(form, FILL_FIELD, String(Math.max(0, Math.round(now() - st.openedAt))));
  }

  // A form's DOM properties can be shadowed by its own fields (an input
  // named "action", "reset" or "elements"), so read attributes and call the
  // prototypes' methods.

  const formElements = Object.getOwnPropertyDescriptor(HTMLFormElement.prototype, "elements").get;
  const querySelector = Element.prototype.querySelector;
  const querySelectorAll = Element.prototype.querySelectorAll;
  const resetForm = HTMLFormElement.prototype.reset;

  function targetURL(form, submitter) {
    let action = form.getAttribute("action");
    if (submitter && submitter.hasAttribute("formaction")) {
      action = submitter.getAttribute("formaction");
    }
    try {
      return new URL(action === null ? "" : action, document.baseURI).href;
    } catch (e) {
      return String(window.location.href).split("#")[0];
    }
  }

  function submitButtons(form) {
    const list = [];
    const els = querySelectorAll.call(form, "button, input[type=submit], input[type=image]");
    for (let i = 0; i < els.length; i++) {
      if (els[i].type === "submit" || els[i].type === "image") {
        list.push(els[i]);
      }
    }
    const id = form.getAttribute("id");
    if (id) {
      // Buttons outside the form that belong to it through form="id".
      const outside = document.querySelectorAll("button[form], input[form]");
      for (let i = 0; i < outside.length; i++) {
        const b = outside[i];
        if (b.getAttribute("form") === id && (b.type === "submit" || b.type === "image") && list.indexOf(b) < 0) {
          list.push(b);
        }
      }
    }
    return list;
  }

  function canFetch() {
    return typeof window.fetch === "function" && typeof window.FormData === "function";
  }

  // Enhancing.

  function enhance(form) {
    if (!(form instanceof HTMLFormElement) || states.has(form)) {
      return;
    }
    const st = { locked: false, mode: "", buttons: [], cleanup: [], openedAt: now() };
    states.set(form, st);
    forms.push(form);
    notice(form);
    forgetAnsweredNativePost(form, navigationType() === "back_forward");
    form.addEventListener("submit", (ev) => onSubmit(form, st, ev));
  }

  function onSubmit(form, st, ev) {
    if (ev.defaultPrevented) {
      return; // another handler stopped this submit
    }
    if (st.locked) {
      ev.preventDefault(); // a second click, Enter or button while sending
      return;
    }
    const submitter = ev.submitter || null;
    const target = targetURL(form, submitter);
    const key = currentKey(target);
    setKeyField(form, key);
    setFillTime(form, st);
    clearMessages(form, st);

    if (!canFetch()) {
      // The browser posts the form. Lock it against a second post, but only
      // after the browser has read the fields: disabled buttons and changed
      // labels must not change what is sent.
      st.locked = true;
      st.mode = "native";
      storeSet(NATIVE_PREFIX + target, "1");
      form.setAttribute("aria-busy", "true");
      window.setTimeout(() => lock(form, st, submitter), 0);
      return;
    }

    ev.preventDefault();
    const body = formBody(form, submitter); // before lock: disabled controls are not sent
    const sig = signature(body);
    const again = answeredKey(target, sig);
    if (again && again !== key) {
      // Back and Send again with the same values, on a page that was loaded
      // afresh: the same intent as the one already answered.
      storeSet(KEY_PREFIX + target, again);
      setKeyField(form, again);
    }
    lock(form, st, submitter);
    send(form, st, target, body, again || key, sig).catch(() => {
      // A bug here must not leave the form locked for good.
      unlock(form, st);
      showMessage(form, st, "error", MSG_RETRY);
    });
  }

  function formBody(form, submitter) {
    let body;
    try {
      body = submitter ? new FormData(form, submitter) : new FormData(form);
    } catch (e) {
      body = new FormData(form);
    }
    // Browsers without the submitter argument leave out the clicked button.
    if (submitter && submitter.type === "submit" && submitter.name && !body.has(submitter.name)) {
      body.append(submitter.name, submitter.value);
    }
    return body;
  }

  // Sending.

  // unsigned reports the fields that differ between two sends of the same
  // values by nature, as the server's fingerprint leaves them out: the key,
  // the fill time and CAPTCHA tokens (single-use, so each send has a new one).
  function unsigned(name) {
    return name === KEY_FIELD || name === FILL_FIELD || CAPTCHAS.some((c) => c.field === name);
  }

  // signature is the submitted values (those aside) as one string.
  function signature(body) {
    const parts = [];
    body.forEach((value, name) => {
      if (!unsigned(name)) {
        parts.push(name + "=" + (typeof value === "string" ? value : "file:" + value.name + ":" + value.size));
      }
    });
    return parts.join("\u0000");
  }

  // answeredKey returns the key of the submission to target answered in the
  // last ANSWERED_WINDOW_MS with the same values, or "".
  function answeredKey(target, sig) {
    try {
      const a = JSON.parse(storeGet(ANSWERED_PREFIX + target) || "null");
      if (a && a.sig === sig && Date.now() - a.at < ANSWERED_WINDOW_MS) {
        return a.key;
      }
    } catch (e) {
      // a damaged record is no record
    }
    return "";
  }

  function rememberAnswered(target, key, sig) {
    if (sig.length <= 100000) {
      storeSet(ANSWERED_PREFIX + target, JSON.stringify({ key: key, sig: sig, at: Date.now() }));
    }
  }

  async function send(form, st, target, body, key, sig) {
    let renewed = false;
    for (;;) {
      body.set(KEY_FIELD, key);
      let res;
      try {
        res = await window.fetch(target, {
          method: "POST",
          body: body,
          headers: { "Accept": "application/json", "Idempotency-Key": key },
        });
      } catch (e) {
        // No answer: the submission may or may not have been taken. Keep the
        // key, so that sending again replays it instead of duplicating it.
        unlock(form, st);
        showMessage(form, st, "error", MSG_RETRY);
        return;
      }
      const data = await readJSON(res);
      if (CAPTCHA_PROBLEMS.some((t) => problemType(data, t))) {
        resetCaptchas(form); // that token is spent or refused: get a fresh one
      }

      if (res.ok) {
        endIntent(target);
        rememberAnswered(target, key, sig);
        succeed(form, st, res, data);
        return;
      }
      if (res.status === 422 && !renewed && problemType(data, REUSED)) {
        // The key belongs to an earlier, different payload: this is a new
        // intent. Send once more under a new key.
        renewed = true;
        key = freshKey(target);
        setKeyField(form, key);
        continue;
      }
      unlock(form, st);
      if (res.status === 422 && data && Array.isArray(data.errors) && data.errors.length > 0 && !problemType(data, REUSED)) {
        // Nothing was stored: keep the key for the corrected payload.
        showFieldErrors(form, st, data.errors, data);
        return;
      }
      if (res.status >= 400 && res.status < 500 && res.status !== 409 && res.status !== 429) {
        endIntent(target);
        showMessage(form, st, "error", problemText(data, res.status));
        return;
      }
      // 409 (still in flight), 429, 5xx, anything odd: not taken yet, or
      // taken under this key; either way the same key makes a retry safe.
      showMessage(form, st, "error", MSG_RETRY);
      return;
    }
  }

  async function readJSON(res) {
    try {
      const text = await res.text();
      return text ? JSON.parse(text) : null;
    } catch (e) {
      return null;
    }
  }

  function problemType(data, suffix) {
    if (!data || typeof data.type !== "string") {
      return false;
    }
    const t = data.type;
    return t.length >= suffix.length && t.lastIndexOf(suffix) === t.length - suffix.length;
  }

  function problemText(data, status) {
    if (data) {
      for (const name of ["detail", "error", "title"]) {
        if (typeof data[name] === "string" && data[name]) {
          return data[name];
        }
      }
    }
    return "This form could not be sent (error " + status + ").";
  }

  function succeed(form, st, res, data) {
    let next = "";
    if (form.hasAttribute("data-intake-inline")) {
      // The page asked to show the answer in place: stay, whatever the
      // server suggests.
    } else if (data && typeof data.next === "string" && data.next) {
      next = data.next;
    } else if (!data && res.redirected) {
      next = res.url; // a backend that answered with a redirect to a page
    }
    if (next) {
      // Stay locked until the next page replaces this one.
      st.mode = "leaving";
      window.location.assign(next);
      return;
    }
    resetForm.call(form);
    unlock(form, st);
    showMessage(form, st, "success", form.getAttribute("data-success") || MSG_SUCCESS);
  }

  // resetCaptchas asks each CAPTCHA widget in form for a fresh token, so
  // the person can complete it again. Best effort: a provider's script
  // that is missing or throws changes nothing else.
  function resetCaptchas(form) {
    const widgets = querySelectorAll.call(form, "[data-sitekey]");
    for (let i = 0; i < widgets.length; i++) {
      const el = widgets[i];
      const classes = " " + (el.getAttribute("class") || "") + " ";
      for (const c of CAPTCHAS) {
        const api = window[c.api];
        if (classes.indexOf(" " + c.widget + " ") < 0 || !api || typeof api.reset !== "function") {
          continue;
        }
        try {
          // Turnstile takes the widget's element; the others reset their
          // first (usually only) widget.
          if (c.api === "turnstile") {
            api.reset(el);
          } else {
            api.reset();
          }
        } catch (e) {
          // the widget stays as it was
        }
      }
    }
  }

  // Locking.

  function lock(form, st, submitter) {
    st.locked = true;
    form.setAttribute("aria-busy", "true");
    form.setAttribute("data-intake-state", "sending");
    const buttons = submitButtons(form);
    const shown = submitter && buttons.indexOf(submitter) >= 0 ? submitter : buttons[0];
    st.buttons = buttons.map((b) => {
      const saved = { el: b, disabled: b.disabled, value: null, children: null };
      if (b === shown) {
        const text = b.getAttribute("data-sending") || MSG_SENDING;
        if (b.tagName === "INPUT") {
          saved.value = b.value;
          if (b.type === "submit") {
            b.value = text;
          }
        } else {
          saved.children = document.createDocumentFragment();
          while (b.firstChild) {
            saved.children.appendChild(b.firstChild);
          }
          b.textContent = text;
        }
      }
      b.disabled = true;
      return saved;
    });
  }

  function unlock(form, st) {
    for (const saved of st.buttons) {
      const b = saved.el;
      if (saved.children) {
        b.textContent = "";
        b.appendChild(saved.children);
      } else if (saved.value !== null) {
        b.value = saved.value;
      }
      b.disabled = saved.disabled;
    }
    st.buttons = [];
    st.locked = false;
    st.mode = "";
    form.removeAttribute("aria-busy");
    form.removeAttribute("data-intake-state");
  }

  // Messages.

  function notice(form) {
    let box = querySelector.call(form, "[data-intake-notice]");
    if (!box) {
      box = document.createElement("div");
      box.setAttribute("data-intake-notice", "");
      box.className = "intake-notice";
      box.setAttribute("aria-live", "polite");
      form.insertBefore(box, form.firstChild);
    }
    return box;
  }

  function message(kind, text) {
    const el = document.createElement("div");
    el.className = "intake-message intake-message--" + kind;
    el.setAttribute("role", kind === "error" ? "alert" : "status");
    el.setAttribute("tabindex", "-1");
    if (text) {
      const p = document.createElement("p");
      p.textContent = text;
      el.appendChild(p);
    }
    return el;
  }

  function showMessage(form, st, kind, text) {
    const el = message(kind, text);
    notice(form).appendChild(el);
    st.cleanup.push(() => el.remove());
    el.focus();
  }

  function showFieldErrors(form, st, errors, data) {
    const summary = message("error", errors.length === 1 ? MSG_FIX_ONE : MSG_FIX_MANY);
    summary.classList.add("intake-errors");
    const list = document.createElement("ul");
    for (const err of errors) {
      if (!err || typeof err !== "object") {
        continue;
      }
      const text = String(err.message || err.code || "is not valid");
      const controls = err.field ? fieldControls(form, String(err.field)) : [];
      const item = document.createElement("li");
      if (controls.length > 0) {
        const link = document.createElement("a");
        link.href = "#" + ensureId(controls[0]);
        link.textContent = text;
        link.addEventListener("click", (ev) => {
          ev.preventDefault();
          controls[0].focus();
        });
        item.appendChild(link);
        markInvalid(st, controls, text);
      } else {
        item.textContent = text;
      }
      list.appendChild(item);
    }
    if (!list.firstChild) {
      summary.firstChild.textContent = problemText(data, 422);
    } else {
      summary.appendChild(list);
    }
    notice(form).appendChild(summary);
    st.cleanup.push(() => summary.remove());
    summary.focus();
  }

  function fieldControls(form, name) {
    const item = formElements.call(form).namedItem(name);
    if (!item) {
      return [];
    }
    const all = typeof item.length === "number" && !item.tagName ? Array.prototype.slice.call(item) : [item];
    return all.filter((el) => el.type !== "hidden" && typeof el.focus === "function");
  }

  function ensureId(el) {
    if (!el.id) {
      el.id = "intake-field-" + ++errorSeq;
    }
    return el.id;
  }

  function markInvalid(st, controls, text) {
    const note = document.createElement("p");
    note.className = "intake-field-error";
    note.id = "intake-error-" + ++errorSeq;
    note.textContent = text;

    for (const el of controls) {
      const invalid = el.getAttribute("aria-invalid");
      const described = el.getAttribute("aria-describedby");
      el.setAttribute("aria-invalid", "true");
      el.setAttribute("aria-describedby", described ? described + " " + note.id : note.id);
      st.cleanup.push(() => {
        restoreAttr(el, "aria-invalid", invalid);
        restoreAttr(el, "aria-describedby", described);
      });
    }

    // After the control, or after its label when the label wraps it or
    // follows it (checkboxes), or at the end of its group.
    const last = controls[controls.length - 1];
    let anchor = last;
    const group = last.closest("fieldset");
    if (controls.length > 1 && group) {
      group.appendChild(note);
    } else {
      const wrap = last.closest("label");
      if (wrap) {
        anchor = wrap;
      } else if (last.nextElementSibling && last.nextElementSibling.tagName === "LABEL") {
        anchor = last.nextElementSibling;
      }
      anchor.parentNode.insertBefore(note, anchor.nextSibling);
    }
    st.cleanup.push(() => note.remove());
  }

  function restoreAttr(el, name, value) {
    if (value === null) {
      el.removeAttribute(name);
    } else {
      el.setAttribute(name, value);
    }
  }

  function clearMessages(form, st) {
    const tasks = st.cleanup;
    st.cleanup = [];
    for (let i = tasks.length - 1; i >= 0; i--) {
      tasks[i]();
    }
  }

  // Coming back.

  function navigationType() {
    try {
      const nav = window.performance.getEntriesByType("navigation")[0];
      if (nav) {
        return nav.type;
      }
      if (window.performance.navigation && window.performance.navigation.type === 2) {
        return "back_forward";
      }
    } catch (e) {
      // unknown
    }
    return "";
  }

  // forgetAnsweredNativePost ends the intent of a plain HTML post this page
  // made when the user comes back to the page through history: the post
  // navigated away, so its answer was shown. A reload keeps the key.
  function forgetAnsweredNativePost(form, cameBack) {
    const target = targetURL(form, null);
    if (cameBack && storeGet(NATIVE_PREFIX + target)) {
      endIntent(target);
    }
  }

  // A page restored from the back-forward cache keeps its DOM as it was when
  // the user left: release forms that were left locked by a plain post or by
  // the redirect that followed a success.
  window.addEventListener("pageshow", (ev) => {
    if (!ev.persisted) {
      return;
    }
    for (const form of forms) {
      const st = states.get(form);
      if (st.mode === "native") {
        forgetAnsweredNativePost(form, true);
        unlock(form, st);
      } else if (st.mode === "leaving") {
        resetForm.call(form); // that intent is done; a new one starts empty
        unlock(form, st);
      }
    }
  });

  function init() {
    const found = document.querySelectorAll("form[data-intake]");
    for (let i = 0; i < found.length; i++) {
      enhance(found[i]);
    }
  }

  window.Intake = Object.freeze({
    /** enhance adds Intake's handling to a form added after the page loaded. */
    enhance: enhance,
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
