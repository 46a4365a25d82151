"""Who is asking on a dashboard page: a signed-in, active staff member."""
from __future__ import annotations

from functools import wraps

from flask import abort, g, redirect, request, url_for
from flask_login import current_user

from discuss.identity.staff import Actor
from discuss.identity.staff_admin import touch_last_seen


def staff_page(view):
    """Dashboard pages: anonymous visitors go to the login page; non-staff get 403."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        if not current_user.is_staff or not current_user.is_active_account:
            abort(403)
        g.actor = Actor.for_user(current_user._get_current_object())
        touch_last_seen(g.actor.user)
        return view(*args, **kwargs)
    return wrapper
