// Behaviour tests of intake.js, run by TestIntakeJSBehaviour when node is on
// PATH: node testdata/intake_test.cjs static/intake.js
//
// intake.js runs in a vm context on a small fake DOM that models only what
// the script touches (elements, forms and their controls, FormData, fetch,
// sessionStorage, location). Node built-ins only.
"use strict";

const assert = require("node:assert/strict");
const fs = require("node:fs");
const vm = require("node:vm");
const { webcrypto } = require("node:crypto");

const source = fs.readFileSync(process.argv[2], "utf8");

// ---- fake DOM ----

class Node {
  constructor(doc) {
    this.ownerDocument = doc;
    this.parentNode = null;
    this.childNodes = [];
  }
  get firstChild() { return this.childNodes[0] || null; }
  get nextSibling() {
    if (!this.parentNode) return null;
    const s = this.parentNode.childNodes;
    return s[s.indexOf(this) + 1] || null;
  }
  appendChild(n) { return this.insertBefore(n, null); }
  insertBefore(n, ref) {
    if (n instanceof Fragment) {
      for (const c of n.childNodes.slice()) this.insertBefore(c, ref);
      return n;
    }
    if (n.parentNode) n.remove();
    const i = ref ? this.childNodes.indexOf(ref) : -1;
    if (i < 0) this.childNodes.push(n); else this.childNodes.splice(i, 0, n);
    n.parentNode = this;
    return n;
  }
  remove() {
    if (!this.parentNode) return;
    const s = this.parentNode.childNodes;
    s.splice(s.indexOf(this), 1);
    this.parentNode = null;
  }
  get textContent() { return this.childNodes.map((c) => c.textContent).join(""); }
  set textContent(v) {
    for (const c of this.childNodes.slice()) c.remove();
    if (v !== "") this.appendChild(new Text(this.ownerDocument, String(v)));
  }
}

class Text extends Node {
  constructor(doc, data) { super(doc); this.data = data; }
  get textContent() { return this.data; }
}

class Fragment extends Node {}

// Selectors: comma lists of tag#id[attr][attr=value][attr="value"].
function matches(el, selector) {
  return selector.split(",").some((part) => {
    const m = part.trim().match(/^([a-z]*)(?:#([\w-]+))?((?:\[[^\]]+\])*)$/i);
    if (!m) throw new Error("fake DOM cannot match " + part);
    if (m[1] && el.tagName !== m[1].toUpperCase()) return false;
    if (m[2] && el.getAttribute("id") !== m[2]) return false;
    for (const a of m[3].match(/\[[^\]]+\]/g) || []) {
      const [, name, value] = a.match(/^\[([^=\]]+)(?:="?([^"\]]*)"?)?\]$/);
      if (!el.hasAttribute(name)) return false;
      if (value !== undefined && el.getAttribute(name) !== value) return false;
    }
    return true;
  });
}

class Element extends Node {
  constructor(doc, tag) {
    super(doc);
    this.tagName = tag.toUpperCase();
    this.attrs = new Map();
    this.listeners = {};
    this.classList = { add: (c) => this.setAttribute("class", (this.className + " " + c).trim()) };
  }
  getAttribute(n) { return this.attrs.has(n) ? this.attrs.get(n) : null; }
  setAttribute(n, v) { this.attrs.set(n, String(v)); }
  hasAttribute(n) { return this.attrs.has(n); }
  removeAttribute(n) { this.attrs.delete(n); }
  get id() { return this.getAttribute("id") || ""; }
  set id(v) { this.setAttribute("id", v); }
  get className() { return this.getAttribute("class") || ""; }
  set className(v) { this.setAttribute("class", v); }
  get nextElementSibling() {
    let n = this.nextSibling;
    while (n && !(n instanceof Element)) n = n.nextSibling;
    return n;
  }
  descendants() {
    const out = [];
    const walk = (n) => { for (const c of n.childNodes) if (c instanceof Element) { out.push(c); walk(c); } };
    walk(this);
    return out;
  }
  querySelectorAll(sel) { return this.descendants().filter((e) => matches(e, sel)); }
  querySelector(sel) { return this.querySelectorAll(sel)[0] || null; }
  closest(sel) {
    for (let n = this; n instanceof Element; n = n.parentNode) if (matches(n, sel)) return n;
    return null;
  }
  addEventListener(type, fn) { (this.listeners[type] = this.listeners[type] || []).push(fn); }
  dispatch(ev) { for (const fn of this.listeners[ev.type] || []) fn(ev); return ev; }
  focus() { this.ownerDocument.activeElement = this; }
}

class Control extends Element {
  constructor(doc, tag) {
    super(doc, tag);
    this.dirtyValue = null;
    this.checked = false;
  }
  get type() {
    const t = this.getAttribute("type");
    if (this.tagName === "BUTTON") return t || "submit";
    if (this.tagName === "INPUT") return t || "text";
    return this.tagName.toLowerCase();
  }
  set type(v) { this.setAttribute("type", v); }
  get name() { return this.getAttribute("name") || ""; }
  set name(v) { this.setAttribute("name", v); }
  get value() {
    if (this.type === "hidden" || this.tagName === "BUTTON" || this.type === "submit") return this.getAttribute("value") || "";
    if (this.dirtyValue !== null) return this.dirtyValue;
    return this.getAttribute("value") || (this.type === "checkbox" ? "on" : "");
  }
  set value(v) {
    if (this.type === "hidden" || this.tagName === "BUTTON" || this.type === "submit") this.setAttribute("value", v);
    else this.dirtyValue = String(v);
  }
  get disabled() { return this.hasAttribute("disabled"); }
  set disabled(v) { if (v) this.setAttribute("disabled", ""); else this.removeAttribute("disabled"); }
  get form() { return this.closest("form"); }
}

class HTMLFormElement extends Element {
  get elements() {
    const list = this.descendants().filter((e) => e instanceof Control && e.type !== "image");
    list.namedItem = (name) => {
      const found = list.filter((e) => e.name === name || e.id === name);
      if (found.length === 0) return null;
      if (found.length === 1) return found[0];
      return Object.assign(found.slice(), { tagName: undefined });
    };
    return list;
  }
  reset() {
    for (const c of this.descendants()) if (c instanceof Control) { c.dirtyValue = null; c.checked = c.hasAttribute("checked"); }
  }
}

class FormData {
  constructor(form, submitter) {
    this.list = [];
    if (!form) return;
    for (const c of form.descendants()) {
      if (!(c instanceof Control) || !c.name || c.disabled) continue;
      if (c.type === "submit" || c.type === "image") {
        if (c === submitter) this.list.push([c.name, c.value]);
        continue;
      }
      if (c.type === "checkbox" && !c.checked) continue;
      this.list.push([c.name, c.value]);
    }
  }
  append(k, v) { this.list.push([k, String(v)]); }
  set(k, v) {
    const i = this.list.findIndex((e) => e[0] === k);
    this.list = this.list.filter((e, j) => e[0] !== k || j === i);
    if (i < 0) this.append(k, v); else this.list[this.list.findIndex((e) => e[0] === k)][1] = String(v);
  }
  has(k) { return this.list.some((e) => e[0] === k); }
  get(k) { const e = this.list.find((x) => x[0] === k); return e ? e[1] : null; }
  getAll(k) { return this.list.filter((e) => e[0] === k).map((e) => e[1]); }
  forEach(fn) { for (const [k, v] of this.list) fn(v, k); }
}

class Storage {
  constructor() { this.m = new Map(); }
  getItem(k) { return this.m.has(k) ? this.m.get(k) : null; }
  setItem(k, v) { this.m.set(k, String(v)); }
  removeItem(k) { this.m.delete(k); }
  get size() { return this.m.size; }
  // intents counts the stored keys of submissions under way (the record of
  // the last answered one aside).
  get intents() { return [...this.m.keys()].filter((k) => !k.startsWith("intake:answered:")).length; }
}

class Document extends Element {
  constructor() {
    super(null, "#document");
    this.ownerDocument = this;
    this.readyState = "complete";
    this.baseURI = "https://site.example/contact";
    this.activeElement = null;
    this.body = this.createElement("body");
    this.appendChild(this.body);
  }
  createElement(tag) {
    tag = tag.toLowerCase();
    if (tag === "form") return new HTMLFormElement(this, tag);
    if (["input", "button", "select", "textarea"].includes(tag)) return new Control(this, tag);
    return new Element(this, tag);
  }
  createDocumentFragment() { return new Fragment(this); }
}

// h builds an element: h("input", {type: "text", name: "email"}, ...children).
function h(doc, tag, attrs, ...children) {
  const el = doc.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  for (const c of children) el.appendChild(typeof c === "string" ? new Text(doc, c) : c);
  return el;
}

// ---- a page ----

function response(status, body, extra) {
  const text = body === undefined ? "" : typeof body === "string" ? body : JSON.stringify(body);
  return Object.assign({ status, ok: status >= 200 && status < 300, redirected: false, url: "", text: async () => text }, extra);
}

// page loads intake.js into a fresh document holding one contact form. The
// session (sessionStorage) can be shared to model a reload.
function page(opts = {}) {
  const session = opts.session || new Storage();
  const doc = new Document();
  const form = h(doc, "form", Object.assign({ method: "post", action: opts.action || "https://intake.example/f/abcdefgh", "data-intake": "" }, opts.formAttrs || {}),
    h(doc, "label", { for: "email" }, "Email"),
    h(doc, "input", { type: "email", id: "email", name: "email" }),
    h(doc, "fieldset", {},
      h(doc, "legend", {}, "Colours"),
      h(doc, "input", { type: "checkbox", id: "c1", name: "colors", value: "red" }),
      h(doc, "label", { for: "c1" }, "red"),
      h(doc, "input", { type: "checkbox", id: "c2", name: "colors", value: "blue" }),
      h(doc, "label", { for: "c2" }, "blue")),
    h(doc, "input", { type: "text", name: "action" }), // shadows form.action in a browser
    h(doc, "button", { type: "submit", name: "intent", value: "send", "data-sending": "Wait…" }, h(doc, "span", {}, "Send")),
    h(doc, "input", { type: "submit", name: "intent", value: "draft" }));
  for (const el of opts.extra ? opts.extra(doc) : []) form.appendChild(el);
  doc.body.appendChild(form);
  const clock = opts.clock || { t: 1000 }; // performance.now(), advanced by the tests

  const calls = [];
  const replies = [];
  const assigned = [];
  const timers = [];
  const win = {
    document: doc,
    HTMLFormElement,
    Element,
    URL,
    Promise,
    JSON,
    Object,
    Array,
    String,
    Math,
    Uint8Array,
    WeakMap,
    crypto: opts.noRandomUUID ? { getRandomValues: (b) => webcrypto.getRandomValues(b) } : webcrypto,
    sessionStorage: session,
    location: { href: "https://site.example/contact", assign: (u) => assigned.push(u) },
    performance: { getEntriesByType: () => [{ type: opts.navigation || "navigate" }], now: () => clock.t },
    setTimeout: (fn) => timers.push(fn),
    listeners: {},
    addEventListener(type, fn) { (this.listeners[type] = this.listeners[type] || []).push(fn); },
  };
  Object.assign(win, opts.globals || {});
  if (!opts.noFetch) {
    win.FormData = FormData;
    win.fetch = (url, init) => {
      calls.push({ url, method: init.method, headers: init.headers, body: init.body.list.map((e) => e.slice()) });
      const next = replies.shift();
      if (!next) return new Promise(() => {}); // never answers
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
    };
  }
  win.window = win;
  vm.createContext(win);
  vm.runInContext(source, win);

  const submit = (submitter = form.querySelector("button")) => {
    const ev = { type: "submit", submitter, defaultPrevented: false, preventDefault() { this.defaultPrevented = true; } };
    form.dispatch(ev);
    return ev;
  };
  const key = () => form.querySelector('input[name="_idempotency_key"]').value;
  const button = () => form.querySelector("button");
  const messages = () => form.querySelector("[data-intake-notice]").descendants().filter((e) => e.getAttribute("role"));
  return { doc, form, win, session, calls, replies, assigned, timers, clock, submit, key, button, messages };
}

const settle = () => new Promise((r) => setImmediate(r));

const tests = [];
function test(name, fn) { tests.push({ name, fn }); }

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const PROBLEMS = "https://intake.example/problems";

// ---- tests ----

test("locks on the first submit and sends one request with the key", async () => {
  const p = page();
  p.form.querySelector("#email").value = "a@example.com";
  const first = p.submit();
  assert.equal(first.defaultPrevented, true);
  const second = p.submit();
  const third = p.submit(null); // Enter in a field
  assert.equal(second.defaultPrevented, true);
  assert.equal(third.defaultPrevented, true);
  await settle();
  assert.equal(p.calls.length, 1);
  const call = p.calls[0];
  assert.equal(call.url, "https://intake.example/f/abcdefgh");
  assert.equal(call.method, "POST");
  assert.equal(call.headers.Accept, "application/json");
  assert.match(call.headers["Idempotency-Key"], UUID);
  assert.equal(p.key(), call.headers["Idempotency-Key"]);
  assert.deepEqual(call.body.filter((e) => e[0] === "_idempotency_key"), [["_idempotency_key", p.key()]]);
  assert.ok(call.body.some((e) => e[0] === "email" && e[1] === "a@example.com"));
  assert.ok(call.body.some((e) => e[0] === "intent" && e[1] === "send"), "the clicked button is sent");
  assert.equal(p.form.getAttribute("aria-busy"), "true");
  assert.equal(p.button().disabled, true);
  assert.equal(p.button().textContent, "Wait…");
  assert.equal(p.session.size, 1);
});

test("an input submitter is sent with its own value and shows the sending state", async () => {
  const p = page();
  const draft = p.form.querySelector("input[type=submit]");
  p.replies.push(response(500, {}));
  p.submit(draft);
  assert.deepEqual(p.calls[0].body.filter((e) => e[0] === "intent"), [["intent", "draft"]]);
  assert.equal(draft.value, "Sending…");
  assert.equal(draft.disabled, true);
  assert.equal(p.button().disabled, true, "every submit button is disabled");
  assert.equal(p.button().textContent, "Send", "only the clicked one says it is sending");
  await settle();
  assert.equal(draft.value, "draft");
  assert.equal(draft.disabled, false);
});

test("success with next clears the key and goes there", async () => {
  const p = page();
  p.replies.push(response(201, { ok: true, next: "https://intake.example/f/abcdefgh/thanks" }));
  p.submit();
  await settle();
  assert.deepEqual(p.assigned, ["https://intake.example/f/abcdefgh/thanks"]);
  assert.equal(p.session.intents, 0);
  assert.equal(p.submit().defaultPrevented, true, "stays locked while leaving");
  await settle();
  assert.equal(p.calls.length, 1);
  // Back from the back-forward cache: released and emptied.
  p.win.listeners.pageshow[0]({ persisted: true });
  assert.equal(p.button().disabled, false);
  assert.equal(p.form.getAttribute("aria-busy"), null);
});

test("data-intake-inline shows the answer in place, even when it names a thank-you page", async () => {
  const p = page({ formAttrs: { "data-intake-inline": "", "data-success": "Thanks, we got it." } });
  p.replies.push(response(201, { ok: true, next: "https://intake.example/f/abcdefgh/thanks" }));
  p.submit();
  await settle();
  assert.deepEqual(p.assigned, [], "stays on the page");
  assert.equal(p.messages().length, 1);
  assert.equal(p.messages()[0].textContent, "Thanks, we got it.");
  assert.equal(p.button().disabled, false, "unlocked for a new submission");
  assert.equal(p.session.intents, 0);
});

test("success without next shows a message, resets the form and starts a new intent", async () => {
  const p = page();
  p.replies.push(response(201, { ok: true }), response(201, { ok: true }));
  p.form.querySelector("#email").value = "a@example.com";
  p.submit();
  await settle();
  const k1 = p.calls[0].headers["Idempotency-Key"];
  assert.equal(p.messages().length, 1);
  assert.equal(p.messages()[0].getAttribute("role"), "status");
  assert.match(p.messages()[0].textContent, /received/);
  assert.equal(p.doc.activeElement, p.messages()[0]);
  assert.equal(p.form.querySelector("#email").value, "");
  assert.equal(p.button().disabled, false);
  assert.equal(p.button().textContent, "Send");
  assert.equal(p.button().querySelector("span").textContent, "Send", "the button's own markup is back");
  p.submit();
  await settle();
  assert.equal(p.calls.length, 2);
  assert.notEqual(p.calls[1].headers["Idempotency-Key"], k1);
  assert.equal(p.messages().length, 1, "the old message is gone");
});

test("a network error keeps the key, so the retry cannot duplicate", async () => {
  const p = page();
  p.replies.push(new TypeError("Failed to fetch"));
  p.submit();
  await settle();
  assert.equal(p.button().disabled, false);
  assert.equal(p.form.getAttribute("aria-busy"), null);
  assert.equal(p.messages()[0].getAttribute("role"), "alert");
  assert.match(p.messages()[0].textContent, /Not sent yet/);
  p.submit();
  await settle();
  assert.equal(p.calls.length, 2);
  assert.equal(p.calls[1].headers["Idempotency-Key"], p.calls[0].headers["Idempotency-Key"]);
});

for (const status of [409, 429, 500, 503]) {
  test(status + " keeps the key", async () => {
    const p = page();
    p.replies.push(response(status, { type: PROBLEMS + "/x", title: "x", detail: "x" }));
    p.submit();
    await settle();
    assert.match(p.messages()[0].textContent, /Not sent yet/);
    assert.equal(p.session.size, 1);
    p.submit();
    await settle();
    assert.equal(p.calls[1].headers["Idempotency-Key"], p.calls[0].headers["Idempotency-Key"]);
  });
}

test("a reload keeps the key of an unanswered submit", async () => {
  const p = page();
  p.submit(); // never answered
  await settle();
  const again = page({ session: p.session });
  again.submit();
  await settle();
  assert.equal(again.calls[0].headers["Idempotency-Key"], p.calls[0].headers["Idempotency-Key"]);
});

test("back to a freshly loaded page and the same values again: the answered key, a replay", async () => {
  const p = page();
  p.replies.push(response(201, { ok: true }));
  p.submit();
  await settle();
  // A page loaded afresh (no back-forward cache), the browser refilling the
  // same values: the same intent, so the answered key is sent again.
  const back = page({ session: p.session, navigation: "back_forward" });
  back.replies.push(response(201, { ok: true }));
  back.submit();
  await settle();
  assert.equal(back.calls[0].headers["Idempotency-Key"], p.calls[0].headers["Idempotency-Key"]);
  // Different values are a new intent with a new key.
  const other = page({ session: p.session });
  other.form.querySelector('input[name="email"]').value = "someone-else@example.com";
  other.submit();
  await settle();
  assert.notEqual(other.calls[0].headers["Idempotency-Key"], p.calls[0].headers["Idempotency-Key"]);
});

test("forms with different actions get different keys", async () => {
  const session = new Storage();
  const a = page({ session });
  const b = page({ session, action: "/f/zzzzzzzz" });
  a.submit();
  b.submit();
  await settle();
  assert.equal(b.calls[0].url, "https://site.example/f/zzzzzzzz");
  assert.notEqual(a.calls[0].headers["Idempotency-Key"], b.calls[0].headers["Idempotency-Key"]);
});

test("a validation error keeps the key and marks the fields", async () => {
  const p = page();
  p.replies.push(response(422, {
    type: PROBLEMS + "/validation-error",
    error: "Validation failed",
    errors: [
      { field: "email", code: "TYPE_EMAIL", message: "email must be a valid email address" },
      { field: "colors", code: "REQUIRED_FIELD_MISSING", message: "colors is required" },
      { field: "nope", code: "X", message: "something else" },
    ],
  }));
  p.submit();
  await settle();
  const email = p.form.querySelector("#email");
  assert.equal(email.getAttribute("aria-invalid"), "true");
  const note = p.doc.querySelector("#" + email.getAttribute("aria-describedby"));
  assert.equal(note.textContent, "email must be a valid email address");
  assert.equal(note.className, "intake-field-error");
  for (const id of ["c1", "c2"]) {
    assert.equal(p.form.querySelector("#" + id).getAttribute("aria-invalid"), "true");
  }
  const groupNote = p.doc.querySelector("#" + p.form.querySelector("#c1").getAttribute("aria-describedby"));
  assert.equal(groupNote.parentNode, p.form.querySelector("fieldset"), "a group's error goes at the end of its fieldset");
  assert.equal(p.form.querySelector("#c2").getAttribute("aria-describedby"), groupNote.id);
  const summary = p.messages()[0];
  assert.equal(summary.getAttribute("role"), "alert");
  assert.equal(p.doc.activeElement, summary);
  assert.equal(summary.querySelectorAll("li").length, 3);
  assert.equal(p.button().disabled, false);
  assert.equal(p.session.size, 1);

  p.submit();
  await settle();
  assert.equal(p.calls[1].headers["Idempotency-Key"], p.calls[0].headers["Idempotency-Key"]);
  assert.equal(email.getAttribute("aria-invalid"), null, "errors are cleared on the next submit");
  assert.equal(email.getAttribute("aria-describedby"), null);
  assert.equal(p.doc.querySelector("#" + note.id), null);
});

test("a reused key is replaced and the submit resent once", async () => {
  const p = page();
  const reused = response(422, { type: PROBLEMS + "/idempotency-key-reused", title: "Key reused", detail: "bound to another payload" });
  p.replies.push(reused, response(201, { ok: true, next: "/thanks" }));
  p.submit();
  await settle();
  assert.equal(p.calls.length, 2);
  const [k1, k2] = p.calls.map((c) => c.headers["Idempotency-Key"]);
  assert.notEqual(k1, k2);
  assert.deepEqual(p.calls[1].body.filter((e) => e[0] === "_idempotency_key"), [["_idempotency_key", k2]]);
  assert.deepEqual(p.assigned, ["/thanks"]);
});

test("a key reused twice gives up and shows the problem", async () => {
  const p = page();
  const reused = () => response(422, { type: PROBLEMS + "/idempotency-key-reused", detail: "bound to another payload", errors: [{ field: "", message: "x" }] });
  p.replies.push(reused(), reused());
  p.submit();
  await settle();
  assert.equal(p.calls.length, 2);
  assert.match(p.messages()[0].textContent, /bound to another payload/);
  assert.equal(p.session.size, 0);
});

test("another 4xx clears the key and shows the detail", async () => {
  const p = page();
  p.replies.push(response(410, { type: PROBLEMS + "/inactive", title: "Gone", detail: "This form no longer takes submissions.", error: "INACTIVE" }));
  p.submit();
  await settle();
  assert.match(p.messages()[0].textContent, /no longer takes submissions/);
  assert.equal(p.session.size, 0);
  assert.equal(p.button().disabled, false);
});

test("a non-JSON error answer is still an answer", async () => {
  const p = page();
  p.replies.push(response(502, "<html>bad gateway</html>"));
  p.submit();
  await settle();
  assert.match(p.messages()[0].textContent, /Not sent yet/);
});

test("without fetch the browser posts the form, once", async () => {
  const p = page({ noFetch: true });
  const first = p.submit();
  assert.equal(first.defaultPrevented, false, "the native post goes ahead");
  assert.match(p.key(), UUID);
  assert.equal(p.button().disabled, false, "not disabled before the browser reads the form");
  assert.equal(p.submit().defaultPrevented, true);
  p.timers.forEach((fn) => fn());
  assert.equal(p.button().disabled, true);
  // A reload keeps the key; coming back through history ends the intent.
  const reload = page({ noFetch: true, session: p.session, navigation: "reload" });
  reload.submit();
  assert.equal(reload.key(), p.key());
  page({ noFetch: true, session: p.session, navigation: "back_forward" });
  assert.equal(p.session.size, 0);
});

// field returns the values sent under name in a call's body.
const sent = (call, name) => call.body.filter((e) => e[0] === name).map((e) => e[1]);

test("reports how long the form was open in _fill_ms, once per send", async () => {
  const clock = { t: 1000 };
  const p = page({ clock });
  clock.t = 4500.4;
  p.replies.push(response(500, {}));
  p.submit();
  await settle();
  assert.deepEqual(sent(p.calls[0], "_fill_ms"), ["3500"]);
  clock.t = 9000;
  p.submit(); // the retry after the 500: the form has been open longer
  await settle();
  assert.deepEqual(sent(p.calls[1], "_fill_ms"), ["8000"]);
  assert.equal(p.calls[1].headers["Idempotency-Key"], p.calls[0].headers["Idempotency-Key"]);
  assert.equal(p.form.querySelectorAll('input[name="_fill_ms"]').length, 1);
});

test("a plain post carries _fill_ms too", async () => {
  const clock = { t: 0 };
  const p = page({ noFetch: true, clock });
  clock.t = 2200;
  p.submit();
  assert.equal(p.form.querySelector('input[name="_fill_ms"]').value, "2200", "set before the browser reads the form");
});

// A form with a CAPTCHA widget, as its provider's script leaves it: the
// element with the site key, and the hidden token field inside it.
function widget(cls, field, token) {
  return (doc) => [h(doc, "div", { class: cls, "data-sitekey": "site-key" }, h(doc, "input", { type: "hidden", name: field, value: token }))];
}

test("back and send again with a fresh token and a longer fill time is the same intent", async () => {
  const session = new Storage();
  const p = page({ session, extra: widget("cf-turnstile", "cf-turnstile-response", "token-1") });
  p.replies.push(response(201, { ok: true }));
  p.submit();
  await settle();
  const clock = { t: 50000 };
  const back = page({ session, navigation: "back_forward", clock, extra: widget("cf-turnstile", "cf-turnstile-response", "token-2") });
  back.replies.push(response(201, { ok: true }));
  back.submit();
  await settle();
  assert.deepEqual(sent(back.calls[0], "cf-turnstile-response"), ["token-2"]);
  assert.equal(back.calls[0].headers["Idempotency-Key"], p.calls[0].headers["Idempotency-Key"],
    "the token and the fill time are not the values: the server leaves them out of the fingerprint too");
});

for (const [cls, field, api] of [["cf-turnstile", "cf-turnstile-response", "turnstile"], ["h-captcha", "h-captcha-response", "hcaptcha"], ["g-recaptcha", "g-recaptcha-response", "grecaptcha"]]) {
  test("a refused " + api + " token resets the widget and keeps the key", async () => {
    const resets = [];
    const p = page({ extra: widget(cls + " extra", field, "spent"), globals: { [api]: { reset: (...args) => resets.push(args) } } });
    p.replies.push(
      response(422, { type: PROBLEMS + "/captcha-failed", detail: "refused", errors: [{ code: "CAPTCHA_FAILED", message: "The CAPTCHA token was refused." }] }),
      response(503, { type: PROBLEMS + "/captcha-unavailable", detail: "down", errors: [{ code: "CAPTCHA_UNAVAILABLE", message: "down" }] }),
      response(422, { type: PROBLEMS + "/validation-error", errors: [{ field: "email", code: "TYPE_EMAIL", message: "bad email" }] }));
    p.submit();
    await settle();
    assert.equal(resets.length, 1);
    if (api === "turnstile") {
      assert.equal(resets[0][0], p.form.querySelector("[data-sitekey]"), "Turnstile is told which widget");
    }
    assert.match(p.messages()[0].textContent, /token was refused/);
    assert.equal(p.button().disabled, false);
    p.submit();
    await settle();
    assert.equal(resets.length, 2, "a 503 of the CAPTCHA provider resets it too");
    assert.equal(p.calls[1].headers["Idempotency-Key"], p.calls[0].headers["Idempotency-Key"], "nothing was stored: the same key");
    p.submit();
    await settle();
    assert.equal(resets.length, 2, "a validation error did not spend the token");
  });
}

test("a widget whose script is missing or throws changes nothing else", async () => {
  const p = page({ extra: widget("h-captcha", "h-captcha-response", "t"), globals: { grecaptcha: { reset: () => { throw new Error("no"); } } } });
  p.replies.push(response(422, { type: PROBLEMS + "/captcha-failed", errors: [{ code: "CAPTCHA_FAILED", message: "refused" }] }));
  p.submit();
  await settle();
  assert.match(p.messages()[0].textContent, /refused/);
  assert.equal(p.button().disabled, false);
});

test("the key falls back to getRandomValues", async () => {
  const p = page({ noRandomUUID: true });
  p.submit();
  await settle();
  assert.match(p.calls[0].headers["Idempotency-Key"], UUID);
});

test("only window.Intake is global, and loading twice is harmless", async () => {
  const p = page();
  assert.equal(typeof p.win.Intake.enhance, "function");
  vm.runInContext(source, p.win);
  p.submit();
  await settle();
  assert.equal(p.calls.length, 1);
});

(async () => {
  let failed = 0;
  for (const t of tests) {
    try {
      await t.fn();
      console.log("ok   " + t.name);
    } catch (err) {
      failed++;
      console.log("FAIL " + t.name + "\n" + (err && err.stack));
    }
  }
  process.exit(failed ? 1 : 0);
})();
