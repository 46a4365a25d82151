"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""
from werkzeug.middleware.proxy_fix import ProxyFix

from discuss import create_app

app = create_app()
# Behind one reverse proxy (nginx, a load balancer), trust its X-Forwarded-For/Proto so
# rate limits and IP hashes see the reader, not the proxy. Set DISCUSS_PROXY_HOPS=0 if none.
app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_HOPS"], x_proto=app.config["PROXY_HOPS"])
