/* The SQL workbench: names from the schema browser inserted at the cursor, the schema filter,
   a syntax error's position selected in the editor, Ctrl+Enter to run. No dependencies. */
(function () {
  "use strict";
  const editor = document.getElementById("sql");
  if (!editor) return;

  function insert(text) {
    const start = editor.selectionStart, end = editor.selectionEnd, value = editor.value;
    const before = value.slice(0, start), after = value.slice(end);
    // A space either side unless the text already has a separator there.
    const lead = before && !/[\s(,.]$/.test(before) ? " " : "";
    const trail = after && !/^[\s),.;]/.test(after) ? " " : "";
    editor.value = before + lead + text + trail + after;
    const at = (before + lead + text).length;
    editor.focus();
    editor.setSelectionRange(at, at);
  }

  document.querySelectorAll("#schema button.insert").forEach(function (button) {
    button.addEventListener("click", function (event) {
      event.preventDefault(); // inside <summary>: insert, do not fold the dataset
      insert(button.dataset.insert);
    });
  });

  const filter = document.getElementById("schema-filter");
  if (filter) {
    filter.addEventListener("input", function () {
      const words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
      document.querySelectorAll("#schema .schema-dataset").forEach(function (d) {
        const names = d.dataset.names.toLowerCase() + " " + d.textContent.toLowerCase();
        d.hidden = !words.every(function (w) { return names.includes(w); });
        if (words.length && !d.hidden) d.open = true;
      });
    });
  }

  // A syntax error: select the character it points at.
  const line = parseInt(editor.dataset.errorLine || "0", 10);
  if (line > 0) {
    const col = parseInt(editor.dataset.errorCol || "1", 10);
    const lines = editor.value.split("\n");
    let pos = 0;
    for (let i = 0; i < line - 1 && i < lines.length; i++) pos += lines[i].length + 1;
    pos = Math.min(pos + Math.max(col - 1, 0), editor.value.length);
    editor.focus();
    editor.setSelectionRange(pos, Math.min(pos + 1, editor.value.length));
  }

  editor.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      editor.form.querySelector("button[value=table]").click();
    }
  });
})();
