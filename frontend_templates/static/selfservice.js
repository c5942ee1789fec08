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
  // The delivery's confirm page: where the browser can read QR codes (BarcodeDetector, e.g.
  // Chrome on Android), a button takes a photo of the card and fills in the code. Elsewhere the
  // phone's own camera app opens the card's URL, or the deliverer types the code.
  var scan = document.querySelector("[data-scan]");
  if (scan && field && "BarcodeDetector" in window) {
    scan.hidden = false;
    scan.querySelector("input[type=file]").addEventListener("change", function (event) {
      var file = event.target.files && event.target.files[0];
      if (!file) { return; }
      window.createImageBitmap(file).then(function (image) {
        return new window.BarcodeDetector({ formats: ["qr_code"] }).detect(image);
      }).then(function (codes) {
        var raw = codes.length ? codes[0].rawValue : "";
        var code = raw.indexOf("#") >= 0 ? raw.slice(raw.lastIndexOf("#") + 1) : raw;
        if (code) {
          field.value = decodeURIComponent(code).toUpperCase();
          var pinField = document.getElementById("f-pin");
          if (pinField) { pinField.focus(); }
        }
      }).catch(function () { /* the deliverer types the code instead */ });
    });
  }
  var idle = document.querySelector("[data-idle-seconds]");
  if (idle) {
    var seconds = parseInt(idle.getAttribute("data-idle-seconds"), 10) || 600;
    window.setTimeout(function () { window.location.replace("/my?ended=idle"); }, seconds * 1000);
  }
})();
