/*
 * Strongbox's own script: small behaviours around htmx. Every page works without it; see "Interactive UI" in
 * docs/architecture.md. Loaded as a file (the Content-Security-Policy allows no inline script) after htmx.
 */
(function () {
  "use strict";

  /* ---------- Upload: size check before sending, progress bar, answers that are not the form ---------- */

  function uploadForm(elt) {
    return elt && elt.closest ? elt.closest("#upload-form") : null;
  }

  function formMessage(form, text) {
    var area = form.querySelector(".form-messages");
    area.replaceChildren();
    if (text) {
      var p = document.createElement("p");
      p.className = "error banner";
      p.setAttribute("role", "alert");
      p.textContent = text;
      area.appendChild(p);
    }
  }

  /* Show (or, with an empty text, remove) the script's own error under the file field. */
  function fileError(form, text) {
    var input = form.querySelector("input[type=file]");
    var field = input.closest(".field");
    var old = field.querySelector(".error[data-client]");
    if (old) old.remove();
    field.classList.toggle("has-error", Boolean(text) || Boolean(field.querySelector(".error")));
    if (text) {
      var p = document.createElement("p");
      p.className = "error";
      p.dataset.client = "";
      p.id = input.id + "_client_error";
      p.textContent = text;
      input.after(p);
      input.setAttribute("aria-describedby", p.id);
    } else {
      input.removeAttribute("aria-describedby");
    }
  }

  /* Return an error message when the chosen file is over the limit the page was rendered with, else "". */
  function oversize(form) {
    var input = form.querySelector("input[type=file]");
    var file = input && input.files && input.files[0];
    if (input && input.files && input.files.length > 1) return ""; // several files: bulk.js checks each one
    var limit = Number(form.dataset.maxSize);
    if (file && limit && file.size > limit) {
      return "The file is larger than the " + form.dataset.maxSizeLabel + " limit, so it was not sent.";
    }
    return "";
  }

  document.addEventListener("change", function (event) {
    var form = uploadForm(event.target);
    if (form && event.target.type === "file") fileError(form, oversize(form));
  });

  function progress(form, percent, text) {
    var box = form.querySelector(".upload-progress");
    var bar = box.querySelector("progress");
    box.hidden = false;
    bar.value = percent;
    bar.textContent = percent + "%";
    box.querySelector(".upload-progress-text").textContent = text || percent + "%";
    box.dataset.state = percent >= 100 ? "complete" : "uploading";
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = uploadForm(event.detail.elt);
    if (!form || event.detail.elt !== form) return;
    var problem = oversize(form);
    if (problem) {
      event.preventDefault();
      fileError(form, problem);
      form.querySelector("input[type=file]").focus();
      return;
    }
    formMessage(form, "");
    progress(form, 0);
  });

  document.addEventListener("htmx:beforeSend", function (event) {
    var form = uploadForm(event.detail.elt);
    if (!form || event.detail.elt !== form) return;
    // Only the request body's progress: the response's own progress events would move the bar again.
    event.detail.xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable && e.total) progress(form, Math.floor((e.loaded / e.total) * 100));
    });
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var form = uploadForm(event.detail.elt);
    if (!form || event.detail.elt !== form || !form.isConnected) return;
    if (event.detail.xhr.getResponseHeader("HX-Redirect")) {
      progress(form, 100, "Uploaded, opening it…");
    } else if (!event.detail.successful) {
      form.querySelector(".upload-progress").hidden = true;
    }
  });

  /* A 413 or 400 answer that is not the form (the server refused the body before reading it, or a proxy did)
     must not replace the form: keep the form and say what happened. */
  document.addEventListener("htmx:beforeSwap", function (event) {
    var form = uploadForm(event.detail.elt);
    if (!form || !event.detail.shouldSwap) return;
    var body = event.detail.serverResponse || "";
    if (body.indexOf('id="upload-form"') === -1) {
      event.detail.shouldSwap = false;
      form.querySelector(".upload-progress").hidden = true;
      formMessage(form, event.detail.xhr.status === 413
        ? "The file is larger than the " + form.dataset.maxSizeLabel + " limit."
        : "The upload was refused (" + event.detail.xhr.status + "). Reload the page and try again.");
    }
  });

  // Back to the upload page from the browser's page cache: the form is still "uploading"; make it usable again.
  window.addEventListener("pageshow", function (event) {
    var form = event.persisted && document.querySelector("#upload-form");
    if (!form) return;
    form.querySelector(".upload-progress").hidden = true;
    form.querySelector("button[type=submit]").disabled = false;
  });

  /* ---------- Errors of any other background request: say so instead of doing nothing ---------- */

  function flash(text) {
    var main = document.querySelector("main");
    var old = main.querySelector(".flash[data-client]");
    if (old) old.remove();
    var p = document.createElement("p");
    p.className = "flash flash-error";
    p.dataset.client = "";
    p.setAttribute("role", "alert");
    p.textContent = text;
    main.prepend(p);
  }

  function requestFailed(event) {
    var elt = event.detail.elt;
    if (elt && (elt.id === "notification-count" || elt.id === "text-status")) return; // polling tries again itself
    var form = uploadForm(elt);
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    var text = status
      ? "That did not work (error " + status + "). Reload the page and try again."
      : "The server could not be reached. Check your connection and try again.";
    if (form) {
      form.querySelector(".upload-progress").hidden = true;
      formMessage(form, text);
    } else {
      flash(text);
    }
  }

  document.addEventListener("htmx:responseError", requestFailed);
  document.addEventListener("htmx:sendError", requestFailed);

  /* ---------- Search-as-you-type: at least 2 characters, arrow keys and Escape ---------- */

  var MIN_QUERY = 2;

  function suggestBox(elt) {
    return elt && elt.closest ? elt.closest("[data-suggest]") : null;
  }

  function suggestions(box) {
    return box.querySelector(".suggestions");
  }

  function closeSuggestions(box) {
    suggestions(box).hidden = true;
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var box = suggestBox(event.detail.elt);
    if (!box || event.detail.elt.tagName !== "INPUT") return;
    if (event.detail.elt.value.trim().length < MIN_QUERY) {
      event.preventDefault();
      suggestions(box).replaceChildren();
      closeSuggestions(box);
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var box = suggestBox(event.target);
    // Dismissed with Escape: an answer still on its way must not open the list again until the user types.
    if (box) suggestions(box).hidden = "dismissed" in box.dataset || !suggestions(box).firstElementChild;
  });

  document.addEventListener("input", function (event) {
    var box = suggestBox(event.target);
    if (box) delete box.dataset.dismissed;
  });

  document.addEventListener("keydown", function (event) {
    var box = suggestBox(event.target);
    if (!box) return;
    var input = box.querySelector("input");
    var links = Array.prototype.slice.call(suggestions(box).querySelectorAll("a"));
    var shown = !suggestions(box).hidden && links.length > 0;
    var index = links.indexOf(event.target);
    if (event.key === "Escape") {
      // While the list is open, Escape only closes it: a search field's own Escape would also clear the text.
      if (!suggestions(box).hidden) event.preventDefault();
      box.dataset.dismissed = "";
      input.focus();
      closeSuggestions(box);
    } else if (event.key === "ArrowDown" && shown) {
      event.preventDefault();
      links[Math.min(index + 1, links.length - 1)].focus();
    } else if (event.key === "ArrowUp" && shown && index >= 0) {
      event.preventDefault();
      (index === 0 ? input : links[index - 1]).focus();
    }
  });

  document.addEventListener("focusin", function (event) {
    var box = suggestBox(event.target);
    if (box && event.target.tagName === "INPUT" && !("dismissed" in box.dataset)) {
      suggestions(box).hidden = !suggestions(box).firstElementChild;
    }
  });

  // A click on a suggestion must not take the focus from the search box first (which would close the list
  // before the click lands, in browsers that do not focus links on click); the link is still followed.
  document.addEventListener("mousedown", function (event) {
    if (event.target.closest && event.target.closest(".suggestions")) event.preventDefault();
  });

  document.addEventListener("focusout", function (event) {
    var box = suggestBox(event.target);
    if (box && !box.contains(event.relatedTarget)) closeSuggestions(box);
  });
})();
