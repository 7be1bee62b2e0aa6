/*
 * Intake dashboard: small enhancements. Every page works without this file:
 * copy buttons stay hidden (the text can be selected by hand), destructive
 * links lead to a confirmation page, and the form editor's buttons are
 * answered by the server.
 */
(function () {
  "use strict";

  var live = document.getElementById("live");

  // announce reads msg out to screen readers through the polite live region.
  function announce(msg) {
    if (!live) return;
    live.textContent = "";
    window.setTimeout(function () { live.textContent = msg; }, 50);
  }

  // Copy buttons: <button data-copy="#id" hidden>. The target is an input
  // (its value) or any element (its text).

  function textOf(el) {
    return el.tagName === "INPUT" || el.tagName === "TEXTAREA" ? el.value : el.textContent;
  }

  function selectText(el) {
    if (el.tagName === "INPUT" || el.tagName === "TEXTAREA") {
      el.focus();
      el.select();
      return;
    }
    var range = document.createRange();
    range.selectNodeContents(el);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }

  // legacyCopy copies through a temporary textarea, for browsers without
  // the asynchronous clipboard (or pages not served over https).
  function legacyCopy(text) {
    var ta = document.createElement("textarea");
    ta.value = text;
    ta.setAttribute("readonly", "");
    ta.className = "offscreen";
    document.body.appendChild(ta);
    ta.select();
    var ok = false;
    try {
      ok = document.execCommand("copy");
    } catch (e) {
      ok = false;
    }
    document.body.removeChild(ta);
    return ok;
  }

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () {
        if (!legacyCopy(text)) throw new Error("copy refused");
      });
    }
    return legacyCopy(text) ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  Array.prototype.forEach.call(document.querySelectorAll("button[data-copy]"), function (btn) {
    var target = document.querySelector(btn.getAttribute("data-copy"));
    if (!target) return;
    var label = btn.textContent;
    btn.hidden = false;
    btn.addEventListener("click", function () {
      copy(textOf(target)).then(function () {
        btn.textContent = "Copied";
        announce("Copied to the clipboard.");
        window.setTimeout(function () { btn.textContent = label; }, 2000);
      }, function () {
        selectText(target);
        announce("The text is selected: press Control+C, or Command+C on a Mac, to copy it.");
      });
    });
  });

  // Confirmations: <a href="…/delete" data-confirm="Question?"
  // data-confirm-button="Delete">. The link's page asks the same question
  // without JavaScript; here a <dialog> asks it and posts to the same URL.

  var dialog, dialogText, dialogForm, dialogOK, dialogCancel, opener;

  function buildDialog() {
    dialog = document.createElement("dialog");
    dialog.className = "confirm-dialog";
    dialog.setAttribute("aria-labelledby", "confirm-dialog-text");
    dialogText = document.createElement("p");
    dialogText.id = "confirm-dialog-text";
    dialogText.className = "lead";
    dialogForm = document.createElement("form");
    dialogForm.method = "post";
    dialogForm.className = "actions";
    dialogOK = document.createElement("button");
    dialogOK.type = "submit";
    dialogOK.className = "button-danger";
    dialogCancel = document.createElement("button");
    dialogCancel.type = "button";
    dialogCancel.className = "button-quiet";
    dialogCancel.textContent = "Cancel";
    dialogCancel.addEventListener("click", function () { dialog.close(); });
    dialogForm.appendChild(dialogOK);
    dialogForm.appendChild(dialogCancel);
    dialog.appendChild(dialogText);
    dialog.appendChild(dialogForm);
    dialog.addEventListener("close", function () {
      if (opener) opener.focus();
    });
    document.body.appendChild(dialog);
  }

  document.addEventListener("click", function (e) {
    var link = e.target.closest ? e.target.closest("a[data-confirm]") : null;
    if (!link || typeof HTMLDialogElement !== "function") return;
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    if (!dialog) buildDialog();
    opener = link;
    dialogText.textContent = link.getAttribute("data-confirm");
    dialogOK.textContent = link.getAttribute("data-confirm-button") || "Confirm";
    dialogForm.action = link.href;
    dialog.showModal();
    dialogCancel.focus(); // the safe choice is the default one
  });

  // The form editor: a field's options matter only for select and
  // checkbox, so they are hidden for other types (unless something is in
  // them, or they have an error).

  Array.prototype.forEach.call(document.querySelectorAll("select[data-type-select]"), function (sel) {
    var box = document.getElementById(sel.id.replace(/-type$/, "-options-field"));
    if (!box) return;
    var area = box.querySelector("textarea");
    function sync() {
      var wanted = sel.value === "select" || sel.value === "checkbox";
      box.hidden = !wanted && area.value.trim() === "" && !area.hasAttribute("aria-invalid");
    }
    sel.addEventListener("change", sync);
    sync();
  });

  // A list's selection: <input type="checkbox" data-select-all="id" hidden>
  // ticks every box named id in its form, and shows when some are.

  Array.prototype.forEach.call(document.querySelectorAll("input[data-select-all]"), function (all) {
    var form = all.form || all.closest("form");
    if (!form) return;
    var boxes = form.querySelectorAll('input[type="checkbox"][name="' + all.getAttribute("data-select-all") + '"]');
    // The actions show once something is ticked; a hint says so before.
    var bar = form.querySelector("[data-bulk-bar]"), hint = form.querySelector("[data-bulk-hint]");
    function sync() {
      var n = 0;
      Array.prototype.forEach.call(boxes, function (b) { if (b.checked) n++; });
      all.checked = n > 0 && n === boxes.length;
      all.indeterminate = n > 0 && n < boxes.length;
      if (bar && hint) {
        bar.hidden = n === 0;
        hint.hidden = n > 0;
      }
    }
    all.hidden = false;
    all.addEventListener("change", function () {
      Array.prototype.forEach.call(boxes, function (b) { b.checked = all.checked; });
      sync();
      announce(all.checked ? boxes.length + " selected." : "None selected.");
    });
    Array.prototype.forEach.call(boxes, function (b) { b.addEventListener("change", sync); });
    sync();
  });

  // Days in a search are the viewer's: the form sends its time zone.

  var zone = window.Intl && Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone) {
    Array.prototype.forEach.call(document.querySelectorAll("input[data-time-zone]"), function (el) {
      if (!el.value) el.value = zone;
      Array.prototype.forEach.call(el.form.querySelectorAll("[data-time-zone-name]"), function (n) {
        n.textContent = "(days in your time zone, " + el.value + ")";
      });
    });
  }

  // Times: the server writes them in UTC ("2 Dec 2026, 10:34 UTC"). Shown
  // in the viewer's own time zone, the UTC time kept on hover; a relative
  // time ("5 min ago") gets the exact local time on hover.

  var when = window.Intl && new Intl.DateTimeFormat(undefined, {
    day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short"
  });
  var whenSeconds = when && new Intl.DateTimeFormat(undefined, {
    day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short"
  });
  if (when) {
    Array.prototype.forEach.call(document.querySelectorAll("time[datetime]"), function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d.getTime())) return;
      var shown = el.textContent.trim();
      if (/ UTC$/.test(shown)) {
        el.title = shown;
        el.textContent = /:\d\d:\d\d UTC$/.test(shown) ? whenSeconds.format(d) : when.format(d);
      } else if (!el.title) {
        el.title = when.format(d);
      }
    });
  }
})();
