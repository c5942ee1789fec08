/* The 幸福码 pages: fill the code from the QR's URL fragment (the code after "#" never reaches
   the server's logs), and close the household's list after its idle minutes. */
(function () {
  "use strict";
  var field = document.querySelector("[data-code-field]");
  if (field && window.location.hash.length > 1) {
    var code = decodeURIComponent(window.location.hash.slice(1)).replace(/[^0-9A-Za-z\-\s]/g, "").slice(0, 40);
    if (!field.value) { field.value = code.toUpperCase(); }
    if (window.history && window.history.replaceState) {
      window.history.replaceState(null, "", window.location.pathname + window.location.search);
    }
    var pin = document.getElementById("f-pin");
    if (pin) { pin.focus(); }
  }
  var idle = document.querySelector("[data-idle-seconds]");
  if (idle) {
    var seconds = parseInt(idle.getAttribute("data-idle-seconds"), 10) || 600;
    window.setTimeout(function () { window.location.replace("/my?ended=idle"); }, seconds * 1000);
  }
})();
