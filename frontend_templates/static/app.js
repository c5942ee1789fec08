/* Tongxin: the little JavaScript htmx does not do. Pages work without it. */
(function () {
  "use strict";

  // Destructive buttons carry data-confirm="question": ask before the form is sent, for plain
  // forms and htmx forms alike (capture phase runs before htmx's own submit handler).
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var message = (button && button.getAttribute("data-confirm")) || event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // Print buttons (no inline handlers: the CSP forbids them).
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-print]");
    if (button) {
      window.print();
    }
  });

  // Forms with data-swap-errors="422 503" show those error answers in place (search).
  document.addEventListener("htmx:beforeSwap", function (event) {
    var source = event.detail && event.detail.elt;
    var form = source && source.closest && source.closest("[data-swap-errors]");
    if (!form || !event.detail.xhr) {
      return;
    }
    var codes = form.getAttribute("data-swap-errors").split(" ");
    if (codes.indexOf(String(event.detail.xhr.status)) !== -1) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // htmx keeps a snapshot of the page for the back button, as HTML: what was typed, ticked or
  // chosen lives in the controls' properties, not in the markup, so a page restored by Back
  // would show the results of a search with the keyword box and filters of an older one.
  // Write the current state into the markup just before the snapshot is taken.
  document.addEventListener("htmx:beforeHistorySave", function () {
    var controls = document.querySelectorAll("input, textarea, select");
    Array.prototype.forEach.call(controls, function (el) {
      if (el.type === "password" || el.type === "file" || el.type === "hidden") {
        return;
      }
      if (el.type === "checkbox" || el.type === "radio") {
        el.toggleAttribute("checked", el.checked);
      } else if (el.tagName === "SELECT") {
        Array.prototype.forEach.call(el.options, function (option) {
          option.toggleAttribute("selected", option.selected);
        });
      } else if (el.tagName === "TEXTAREA") {
        el.textContent = el.value;
      } else {
        el.setAttribute("value", el.value);
      }
    });
  });

  // After an htmx swap, move focus to the new region so screen-reader and keyboard users follow.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.hasAttribute("data-focus-on-swap")) {
      target.focus({ preventScroll: false });
    }
  });
})();
