// The API reference page (/api/docs): Swagger UI, vendored from npm (swagger-ui-dist), reading
// the service's own OpenAPI description. No CDN, no inline script.
window.addEventListener('DOMContentLoaded', function () {
  window.SwaggerUIBundle({
    url: document.body.getAttribute('data-spec-url'),
    dom_id: '#swagger-ui',
    deepLinking: true,
    tryItOutEnabled: false,
  });
});
