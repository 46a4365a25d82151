"""Request-network helpers kept out of views so services stay request-free."""
from flask import request


def client_ip() -> str:
    # Behind a reverse proxy, deployers wrap the app with ProxyFix (see wsgi.py), so
    # remote_addr is already the client's address here.
    return request.remote_addr or "0.0.0.0"
