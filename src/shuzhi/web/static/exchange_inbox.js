// The review inbox's helpers: a masked preview of a few values per field (asked for, since it is an
// audited read of the department's own data), the row filter checked as it is typed, field names
// inserted into the filter. The server checks everything again on submit.
(function () {
  "use strict";
  var texts = document.getElementById("preview-texts");
  var say = function (name) { return texts ? texts.getAttribute("data-" + name) : ""; };
  var lang = document.documentElement.lang === "en" ? "en" : "zh";

  function previewCell(form, field, mask) {
    var cell = form.querySelector('td.mask-preview[data-field="' + CSS.escape(field) + '"]');
    if (!cell) { return; }
    cell.textContent = say("loading");
    var url = "/api/v1/exchange/requests/" + form.dataset.request + "/approval/mask-preview?field=" +
      encodeURIComponent(field) + "&mask=" + encodeURIComponent(mask) + "&lang=" + lang;
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json().then(function (data) { data.ok = r.ok; return data; }); })
      .then(function (data) {
        cell.textContent = "";
        if (!data.ok) {
          var err = document.createElement("span");
          err.className = "error";
          err.textContent = data.message;
          cell.appendChild(err);
          return;
        }
        var label = document.createElement("small");
        label.className = "muted";
        label.textContent = data.mask + (data.default ? " · " + say("default") : "");
        cell.appendChild(label);
        if (!data.values.length) {
          cell.appendChild(document.createTextNode(" " + say("empty")));
        }
        data.values.forEach(function (v) {
          var code = document.createElement("code");
          code.className = "preview-value";
          var text = v === null ? "\u2205" : v;
          // a digest says what it is in its first characters; the whole of it is in the title
          code.textContent = text.length > 24 ? text.slice(0, 16) + "\u2026" : text;
          code.title = text;
          code.dataset.value = text;
          cell.appendChild(document.createElement("br"));
          cell.appendChild(code);
        });
      })
      .catch(function () { cell.textContent = "—"; });
  }

  function previewAll(form) {
    form.dataset.previewing = "1";
    form.querySelectorAll("select[name^='mask_']").forEach(function (sel) {
      previewCell(form, sel.name.slice(5), sel.value);
    });
  }

  function checkFilter(form, input) {
    var msg = document.getElementById("row-filter-msg-" + form.dataset.request);
    var value = input.value.trim();
    if (!value) { msg.textContent = ""; msg.className = "field-check"; input.removeAttribute("aria-invalid"); return; }
    var url = "/api/v1/exchange/requests/" + form.dataset.request + "/approval/row-filter-check?row_filter=" +
      encodeURIComponent(value);
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (input.value.trim() !== value) { return; } // typed on since: a newer check is coming
        msg.textContent = data.ok ? "\u2713 " + say("ok") : data.message;
        msg.className = "field-check " + (data.ok ? "ok" : "error");
        if (data.ok) { input.removeAttribute("aria-invalid"); } else { input.setAttribute("aria-invalid", "true"); }
      })
      .catch(function () { msg.textContent = ""; }); // the check on submit still runs
  }

  document.querySelectorAll("form.decide").forEach(function (form) {
    var ask = form.querySelector(".show-preview");
    if (ask) { ask.addEventListener("click", function () { previewAll(form); }); }
    form.querySelectorAll("select[name^='mask_']").forEach(function (sel) {
      sel.addEventListener("change", function () {
        if (form.dataset.previewing) { previewCell(form, sel.name.slice(5), sel.value); }
      });
    });
    var input = form.querySelector("input.row-filter");
    if (!input) { return; }
    var timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { checkFilter(form, input); }, 350);
    });
    input.addEventListener("change", function () { checkFilter(form, input); });
    form.querySelectorAll("button.insert-field").forEach(function (btn) {
      btn.addEventListener("click", function () {
        var name = btn.dataset.field;
        var ident = /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : '"' + name.replace(/"/g, '""') + '"';
        var at = input.selectionStart === null ? input.value.length : input.selectionStart;
        var before = input.value.slice(0, at);
        var pad = before && !/\s$/.test(before) ? " " : "";
        input.value = before + pad + ident + " " + input.value.slice(input.selectionEnd || at);
        input.focus();
        checkFilter(form, input);
      });
    });
  });
})();
