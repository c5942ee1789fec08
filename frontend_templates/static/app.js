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

  // After an htmx swap, move focus to the new region so screen-reader and keyboard users follow.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.hasAttribute("data-focus-on-swap")) {
      target.focus({ preventScroll: false });
    }
  });
})();
