/*
 * Bulk work (docs/bulk-work.md): several files uploaded at once, each in its own request with its own progress
 * bar and result; the list's selection bar. Both pages work without this script (one form post each).
 */
(function () {
  "use strict";
  if (window.strongboxBulk) return; // included by the upload page and the list page; listen once
  window.strongboxBulk = true;

  /* ---------- Several files: one request per file to the form's data-file-url ---------- */

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function link(target) {
    var a = el("a", "", target.title);
    a.href = target.url;
    return a;
  }

  function csrfToken(form) {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function sizeLabel(bytes) {
    if (bytes < 1024) return bytes + " B";
    return bytes >= 1048576 ? (bytes / 1048576).toFixed(1) + " MB" : (bytes / 1024).toFixed(1) + " KB";
  }

  function item(list, file) {
    var li = el("li", "batch-item");
    li.dataset.state = "waiting";
    li.appendChild(el("span", "batch-name", file.name + " (" + sizeLabel(file.size) + ")"));
    var bar = el("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", "Upload of " + file.name);
    li.appendChild(bar);
    li.appendChild(el("span", "batch-result", "Waiting…"));
    list.appendChild(li);
    return li;
  }

  function finish(li, state, parts) {
    li.dataset.state = state;
    var result = li.querySelector(".batch-result");
    result.replaceChildren();
    result.classList.toggle("error", state === "refused");
    parts.forEach(function (part) { result.appendChild(typeof part === "string" ? document.createTextNode(part) : part); });
    if (state !== "refused") li.querySelector("progress").value = 100;
  }

  function answered(li, xhr, form) {
    var body = null;
    if ((xhr.getResponseHeader("Content-Type") || "").indexOf("application/json") === 0) {
      try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
    }
    if (body && body.status === "stored") {
      var parts = ["Stored as ", link(body.document), "."];
      if (body.duplicate_of) {
        var warn = el("strong", "warn", "Already uploaded as ");
        warn.appendChild(link(body.duplicate_of));
        warn.appendChild(document.createTextNode("."));
        parts.push(" ", warn);
      }
      finish(li, body.duplicate_of ? "duplicate" : "stored", parts);
      return true;
    }
    var message = body && body.message ? body.message
      : xhr.status === 413 ? "The file is larger than the " + form.dataset.maxSizeLabel + " limit."
      : "The upload was refused (error " + xhr.status + ").";
    finish(li, "refused", [message]);
    return false;
  }

  function send(form, fields, file, li) {
    return new Promise(function (resolve) {
      var limit = Number(form.dataset.maxSize);
      if (limit && file.size > limit) {
        finish(li, "refused", ["The file is larger than the " + form.dataset.maxSizeLabel + " limit, so it was not sent."]);
        resolve(false);
        return;
      }
      var data = new FormData();
      fields.forEach(function (pair) { data.append(pair[0], pair[1]); });
      data.append("file", file, file.name);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.dataset.fileUrl);
      xhr.setRequestHeader("X-CSRFToken", csrfToken(form));
      li.dataset.state = "uploading";
      li.querySelector(".batch-result").textContent = "Uploading…";
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable && e.total) li.querySelector("progress").value = Math.floor((e.loaded / e.total) * 100);
      });
      xhr.addEventListener("load", function () { resolve(answered(li, xhr, form)); });
      xhr.addEventListener("error", function () {
        finish(li, "refused", ["The server could not be reached. Check your connection and try again."]);
        resolve(false);
      });
      xhr.send(data);
    });
  }

  function uploadBatch(form) {
    var input = form.querySelector("input[type=file]");
    var files = Array.prototype.slice.call(input.files);
    var list = form.querySelector(".batch-results");
    var summary = form.querySelector(".batch-summary");
    var button = form.querySelector("button[type=submit]");
    var fields = [];
    new FormData(form).forEach(function (value, name) { if (name !== "file") fields.push([name, value]); });
    list.replaceChildren();
    list.hidden = false;
    summary.hidden = true;
    button.disabled = true;
    var items = files.map(function (file) { return item(list, file); });
    var stored = 0;
    // One after the other: the owner's uploads are serialized on the server anyway (quota), and one request at a
    // time gives each file the whole connection.
    var chain = Promise.resolve();
    files.forEach(function (file, index) {
      chain = chain.then(function () { return send(form, fields, file, items[index]); })
        .then(function (ok) { if (ok) stored += 1; });
    });
    chain.then(function () {
      button.disabled = false;
      input.value = "";
      summary.hidden = false;
      summary.textContent = stored + " of " + files.length + " files uploaded.";
    });
  }

  function batchForm(target) {
    var form = target && target.closest ? target.closest("#upload-form") : null;
    if (!form) return null;
    var input = form.querySelector("input[type=file]");
    return input && input.files && input.files.length > 1 ? form : null;
  }

  // In the capture phase, before htmx's own submit handler sees it: several files never go as one htmx post.
  document.addEventListener("submit", function (event) {
    var form = batchForm(event.target);
    if (!form) return;
    event.preventDefault();
    event.stopPropagation();
    uploadBatch(form);
  }, true);

  /* Drag and drop onto the drop zone: the dropped files become the input's files, as if picked. */
  function dropZone(target) {
    return target && target.closest ? target.closest("[data-drop-zone]") : null;
  }

  function showDropHints() {
    document.querySelectorAll("[data-drop-zone] .drop-hint").forEach(function (hint) { hint.hidden = false; });
  }
  showDropHints();
  document.addEventListener("htmx:afterSettle", showDropHints); // a refused upload's form, swapped in

  ["dragenter", "dragover"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      var zone = dropZone(event.target);
      if (!zone) return;
      event.preventDefault();
      zone.classList.add("dragging");
    });
  });
  document.addEventListener("dragleave", function (event) {
    var zone = dropZone(event.target);
    if (zone && !zone.contains(event.relatedTarget)) zone.classList.remove("dragging");
  });
  document.addEventListener("drop", function (event) {
    var zone = dropZone(event.target);
    if (!zone || !event.dataTransfer || !event.dataTransfer.files.length) return;
    event.preventDefault();
    zone.classList.remove("dragging");
    var input = zone.querySelector("input[type=file]");
    input.files = event.dataTransfer.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  });

  /* ---------- The list's selection bar ---------- */

  var bar = document.getElementById("bulk-form");
  if (!bar) return;
  bar.classList.add("bulk-bar-js");
  bar.querySelectorAll(".js-only").forEach(function (node) { node.hidden = false; });
  var count = bar.querySelector("[data-bulk-count]");
  var all = bar.querySelector("[data-select-all]");
  var page = bar.querySelector("[data-select-page]");
  var action = bar.querySelector("#bulk-action");

  function boxes() {
    return Array.prototype.slice.call(document.querySelectorAll("input.select[form=bulk-form]"));
  }

  function refresh() {
    var ticked = boxes().filter(function (box) { return box.checked; }).length;
    var chosen = all.checked || ticked > 0;
    bar.dataset.empty = chosen ? "false" : "true";
    count.textContent = all.checked ? "All matching documents selected."
      : ticked ? ticked + " selected." : "Tick documents to act on several at once.";
    page.checked = ticked > 0 && ticked === boxes().length;
    boxes().forEach(function (box) { box.disabled = all.checked; });
    bar.querySelectorAll(".bulk-arg").forEach(function (arg) {
      arg.hidden = arg.dataset.for.split(" ").indexOf(action.value) === -1;
    });
  }

  document.addEventListener("change", function (event) {
    if (event.target === page) boxes().forEach(function (box) { box.checked = page.checked; });
    if (event.target === page || event.target === all || event.target === action
        || (event.target.matches && event.target.matches("input.select"))) refresh();
  });
  document.addEventListener("htmx:afterSettle", refresh); // infinite scroll added cards
  refresh();
})();
