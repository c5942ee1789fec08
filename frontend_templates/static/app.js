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

  // A form whose state lives in the URL (data-url-state: the search form, hx-push-url) is set
  // from the address after Back or Forward. htmx restores a snapshot of the page taken just
  // before the next request, when the control that caused it had already changed (a ticked
  // filter, a new keyword): the snapshot's results belong to the URL, its controls did not.
  function syncFromUrl() {
    var params = new URLSearchParams(window.location.search);
    Array.prototype.forEach.call(document.querySelectorAll("form[data-url-state]"), function (form) {
      Array.prototype.forEach.call(form.elements, function (el) {
        if (!el.name || el.type === "hidden" || el.type === "submit" || el.type === "button") {
          return;
        }
        if (el.type === "checkbox" || el.type === "radio") {
          el.checked = params.getAll(el.name).indexOf(el.value) !== -1;
        } else if (el.tagName === "SELECT") {
          var wanted = params.get(el.name);
          if (wanted === null) {
            el.selectedIndex = 0;
          } else {
            el.value = wanted;
          }
        } else {
          el.value = params.get(el.name) || "";
        }
      });
    });
  }
  document.addEventListener("htmx:historyRestore", syncFromUrl);

  // <details data-fold-on-phone> starts folded on a phone (the page is rendered open, so that it
  // is open without JavaScript and on a wide screen): the search filters, so results show first.
  if (window.matchMedia && window.matchMedia("(max-width: 767.98px)").matches) {
    Array.prototype.forEach.call(document.querySelectorAll("details[data-fold-on-phone]"), function (d) {
      d.open = false;
    });
  }

  // A <details data-keep-open id=…> inside swapped content keeps its open/closed state across the
  // swap (the search filters: ticking a filter must not fold the panel away).
  var keptOpen = {};
  document.addEventListener("htmx:beforeSwap", function () {
    keptOpen = {};
    Array.prototype.forEach.call(document.querySelectorAll("details[data-keep-open][id]"), function (d) {
      keptOpen[d.id] = d.open;
    });
  });
  document.addEventListener("htmx:afterSwap", function () {
    Object.keys(keptOpen).forEach(function (id) {
      var d = document.getElementById(id);
      if (d) {
        d.open = keptOpen[id];
      }
    });
    keptOpen = {};
  });

  // After an htmx swap, move focus to the new region so screen-reader and keyboard users follow.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.hasAttribute("data-focus-on-swap")) {
      target.focus({ preventScroll: false });
    }
  });
})();
