/* Starts the vendored Swagger UI on /schema/swagger (no inline script: the CSP forbids it). */
(function () {
  "use strict";
  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)tx_csrf=([^;]*)/);
    return match ? decodeURIComponent(match[1]) : undefined;
  }
  window.addEventListener("DOMContentLoaded", function () {
    var container = document.getElementById("swagger-container");
    window.SwaggerUIBundle({
      url: container.getAttribute("data-spec-url"),
      dom_id: "#swagger-container",
      deepLinking: true,
      presets: [window.SwaggerUIBundle.presets.apis, window.SwaggerUIStandalonePreset],
      requestInterceptor: function (request) {
        var token = csrfToken();
        if (token !== undefined) {
          request.headers["x-csrftoken"] = token;
        }
        return request;
      }
    });
  });
})();
