// Copy buttons of the pledge page: <button data-copy="#id" data-copied="Copied" hidden>.
// The buttons start hidden and appear only here, so without JavaScript the text next to them
// stays selectable (user-select: all) and nothing on the page pretends to copy.
(function () {
  "use strict";
  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok;
  }
  function announce(button, ok) {
    var status = document.getElementById(button.getAttribute("aria-controls") + "-status") ||
      button.parentNode.querySelector("[role=status]");
    var text = ok ? button.getAttribute("data-copied") : button.getAttribute("data-failed");
    if (status) { status.textContent = text; }
    button.classList.toggle("copied", ok);
  }
  function setUp() {
    var buttons = document.querySelectorAll("button[data-copy]");
    Array.prototype.forEach.call(buttons, function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var source = document.querySelector(button.getAttribute("data-copy"));
        if (!source) { return; }
        // Digits only for account numbers (the spaces are there to read them).
        var text = (source.getAttribute("data-value") || source.textContent).trim();
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(
            function () { announce(button, true); },
            function () { announce(button, fallbackCopy(text)); }
          );
        } else {
          announce(button, fallbackCopy(text));
        }
      });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
