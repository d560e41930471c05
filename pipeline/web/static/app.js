// Drag and drop onto the file picker, the list of chosen files, the upload progress bar, and the buttons
// freed when the running job ends.
// No inline script anywhere (CSP script-src 'self'); the page works without this file too.
(function () {
  "use strict";
  function setup() {
    var zone = document.getElementById("dropzone");
    var input = document.getElementById("dateien");
    var list = document.getElementById("chosen-files");
    if (!zone || !input || zone.dataset.ready) { return; }
    zone.dataset.ready = "1";
    function show() {
      var note = document.getElementById("chosen-error");
      if (note) { note.hidden = true; }
      if (!list) { return; }
      list.textContent = "";
      Array.prototype.forEach.call(input.files, function (f) {
        var li = document.createElement("li");
        li.textContent = f.name + " (" + Math.max(1, Math.round(f.size / 1024)) + " KB)";
        list.appendChild(li);
      });
    }
    input.addEventListener("change", show);
    ["dragenter", "dragover"].forEach(function (ev) {
      zone.addEventListener(ev, function (e) { e.preventDefault(); zone.classList.add("dragover"); });
    });
    ["dragleave", "drop"].forEach(function (ev) {
      zone.addEventListener(ev, function (e) { e.preventDefault(); zone.classList.remove("dragover"); });
    });
    zone.addEventListener("drop", function (e) {
      if (e.dataTransfer && e.dataTransfer.files.length) { input.files = e.dataTransfer.files; show(); }
    });
  }
  // The busy note (_busy.html) replaces itself with an empty one when the job has ended: free the buttons
  // that were disabled while it ran.
  function freeWhenIdle() {
    var note = document.getElementById("busy-note");
    if (!note || note.dataset.busy === "1") { return; }
    Array.prototype.forEach.call(document.querySelectorAll("[data-busy-lock][disabled]"), function (b) {
      b.disabled = false;
      b.removeAttribute("aria-describedby");
    });
  }
  document.addEventListener("htmx:afterSettle", freeWhenIdle);
  // Too many files: say so before sending, and keep the choice (the server refuses such an upload as a whole).
  document.addEventListener("htmx:confirm", function (e) {
    var input = document.getElementById("dateien");
    var note = document.getElementById("chosen-error");
    if (!e.detail || e.detail.elt.id !== "upload-form" || !input || !note) { return; }
    var max = parseInt(input.dataset.maxFiles || "0", 10);
    if (max && input.files.length > max) {
      e.preventDefault();
      note.textContent = input.files.length + " Dateien gewählt, höchstens " + max +
        " je Lieferung: bitte auf mehrere Lieferungen verteilen.";
      note.hidden = false;
    } else {
      note.hidden = true;
    }
  });
  document.addEventListener("DOMContentLoaded", setup);
  document.addEventListener("htmx:afterSettle", setup);
  document.addEventListener("htmx:xhr:progress", function (e) {
    var bar = document.getElementById("upload-progress");
    if (!bar || !e.detail || !e.detail.lengthComputable) { return; }
    bar.hidden = false;
    var pct = Math.round(e.detail.loaded / e.detail.total * 100);
    bar.value = pct;
    bar.textContent = pct + " %";
  });
  document.addEventListener("htmx:afterRequest", function () {
    var bar = document.getElementById("upload-progress");
    if (bar) { bar.hidden = true; }
  });
})();
