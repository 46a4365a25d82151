"""Staff management and account recovery: invite by one-time link (email to first sign-in), roles
per site, deactivation that revokes sessions, last seen; password reset for staff and readers; the
staff badge on comments and protected staff names."""
from __future__ import annotations

import pytest

from discuss.extensions import db
from discuss.models import Role, Site, User
from tests.dashboard_support import PASSWORD, build_world, forget_cached_user, make_staff, sign_in
from tests.factories import make_comment, make_site, make_thread
from tests.support.api import post_comment, read_thread, sign_up
from tests.test_notifications import app_config, link_in, local, smtp, text_of  # noqa: F401  (fixtures)

NEW_PASSWORD = "a much better passphrase"


@pytest.fixture
def mail_app(app):
    """The app, sending mail to the test SMTP server (app_config from test_notifications)."""
    return app


@pytest.fixture
def admin_client(mail_app, smtp):
    client = mail_app.test_client()
    make_site("news")
    admin = make_staff("chief@example.com", Role.ADMIN)
    sign_in(client, admin)
    return client


def test_invite_from_email_link_to_first_sign_in(admin_client, mail_app, smtp):
    news = db.session.query(Site).filter_by(slug="news").one()
    page = admin_client.post("/mod/staff/invite", data={"email": "New.Mod@Example.com", "role": "moderator",
                                                        "sites": [str(news.id)]})
    assert page.status_code == 200 and "Invitation for new.mod@example.com" in page.get_data(as_text=True)
    [message] = smtp.wait_for(1)
    assert "invited you to moderate" in text_of(message)
    link = local(link_in(message, "/auth/invite"))
    newcomer = mail_app.test_client()
    form = newcomer.get(link)
    assert form.status_code == 200 and "new.mod@example.com" in form.get_data(as_text=True)
    token = link.split("token=")[1]
    accepted = newcomer.post("/auth/invite", data={"token": token, "display_name": "Nadia", "password": PASSWORD})
    assert accepted.status_code == 302 and accepted.headers["Location"].endswith("/mod/")
    assert newcomer.get("/mod/queue/pending").status_code == 200          # signed in, as a moderator
    user = db.session.query(User).filter_by(email="new.mod@example.com").one()
    assert (user.role, user.moderated_site_ids, user.display_name) == (Role.MODERATOR, [news.id], "Nadia")
    assert user.last_seen_at is not None
    again = mail_app.test_client().post("/auth/invite", data={"token": token, "display_name": "X",
                                                              "password": PASSWORD})
    assert again.status_code == 400                                         # the link worked once
    from discuss.models import StaffEvent
    events = db.session.query(StaffEvent).order_by(StaffEvent.id).all()
    assert [(e.action, e.target_user_id, e.actor_label) for e in events] == [
        ("invite", user.id, f"staff:{db.session.query(User).filter_by(email='chief@example.com').one().id}"),
        ("accept_invite", user.id, f"staff:{user.id}")]                   # the staff audit has both ends


def test_invite_refuses_bad_input_and_non_admins(admin_client, mail_app, smtp):
    for data in ({"email": "nope", "role": "moderator"}, {"email": "a@b.c", "role": "owner"},
                 {"email": "a@b.c", "role": "moderator"}):  # a moderator needs a site
        assert admin_client.post("/mod/staff/invite", data=data).status_code == 400
    assert db.session.query(User).filter_by(email="a@b.c").count() == 0
    news = db.session.query(Site).first()
    sign_in(admin_client, make_staff("mod@example.com", Role.MODERATOR, [news]))
    assert admin_client.get("/mod/staff").status_code == 403
    assert admin_client.post("/mod/staff/invite", data={"email": "x@y.z", "role": "admin"}).status_code == 403


def test_roles_per_site_and_deactivation_revokes_sessions(app, client):
    world = build_world()
    moderator = world.users["moderator"]
    mod_client = app.test_client()
    sign_in(mod_client, moderator)
    assert mod_client.get("/mod/queue/pending?site=sports").status_code in (200, 302)
    sign_in(client, world.users["admin"])
    response = client.post(f"/mod/staff/{moderator.id}/roles",
                           data={"role": "moderator", "sites": [str(world.site.id), str(world.other_site.id)]})
    assert response.status_code == 302
    db.session.expire_all()
    assert sorted(db.session.get(User, moderator.id).moderated_site_ids) == sorted([world.site.id,
                                                                                   world.other_site.id])
    assert client.post(f"/mod/staff/{moderator.id}/deactivate").status_code == 302
    db.session.expire_all()
    user = db.session.get(User, moderator.id)
    assert not user.is_active_account and user.session_version == 1
    forget_cached_user()
    assert mod_client.get("/mod/queue/pending").status_code == 302           # signed out: back to login
    assert client.post(f"/mod/staff/{world.users['admin'].id}/deactivate").status_code in (302, 409)
    db.session.expire_all()
    assert db.session.get(User, world.users["admin"].id).is_active_account      # never yourself


def test_staff_password_reset_by_email(mail_app, smtp):
    make_site("news")
    staff = make_staff("mod@example.com", Role.ADMIN)
    client = mail_app.test_client()
    sign_in(client, staff)
    stranger = mail_app.test_client()
    assert stranger.post("/auth/forgot", data={"email": "nobody@example.com"}).status_code == 200
    assert smtp.stays_at(0, wait=0.2)
    page = stranger.post("/auth/forgot", data={"email": "MOD@example.com"})
    assert "If an account uses that address" in page.get_data(as_text=True)
    [message] = smtp.wait_for(1)
    token = link_in(message, "/auth/reset").split("token=")[1]
    assert stranger.post("/auth/reset", data={"token": token, "password": "short"}).status_code == 400
    done = stranger.post("/auth/reset", data={"token": token, "password": NEW_PASSWORD})
    assert done.status_code == 200 and "Your password is changed" in done.get_data(as_text=True)
    forget_cached_user()
    assert client.get("/mod/queue/pending").status_code == 302                  # old session revoked
    assert stranger.post("/auth/reset", data={"token": token, "password": NEW_PASSWORD}).status_code == 400
    login = mail_app.test_client().post("/auth/login", data={"email": "mod@example.com", "password": NEW_PASSWORD})
    assert login.status_code == 302
    from discuss.models import StaffEvent
    [event] = db.session.query(StaffEvent).all()                                 # the reset is in the staff audit
    assert (event.action, event.target_user_id, event.actor_label) == ("password_reset", staff.id, f"staff:{staff.id}")


def test_reader_password_reset_through_the_api(mail_app, smtp):
    make_site("news")
    client = mail_app.test_client()
    old = sign_up(client, password=PASSWORD).get_json()["token"]
    response = client.post("/api/v1/auth/password/forgot", json={"email": "ann@example.com"})
    assert response.status_code == 202
    assert client.post("/api/v1/auth/password/forgot", json={"email": "zed@example.com"}).status_code == 202
    [message] = smtp.wait_for(1)
    token = link_in(message, "/auth/reset").split("token=")[1]
    bad = client.post("/api/v1/auth/password/reset", json={"token": token + "x", "password": NEW_PASSWORD})
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "invalid_link"
    assert client.post("/api/v1/auth/password/reset", json={"token": token, "password": NEW_PASSWORD}).status_code == 200
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {old}"}).status_code == 401
    assert client.post("/api/v1/auth/login", json={"email": "ann@example.com",
                                                   "password": NEW_PASSWORD}).status_code == 200
    assert client.post("/api/v1/auth/password/reset", json={"token": token, "password": PASSWORD}).status_code == 400


def test_staff_badge_and_protected_names(app, client):
    site = make_site("news")
    staff = make_staff("editor@example.com", Role.MODERATOR, [site])   # display name "editor"
    thread = make_thread(site)
    make_comment(thread, staff, "A note from the newsroom.")
    make_comment(thread, body="A reader's view.")
    comments = read_thread(client).get_json()["comments"]
    assert [c["author"]["staff"] for c in comments] == [True, False]
    for name in ("editor", " EDITOR ", "Ｅditor", "edi tor"):
        response = post_comment(client, "Trust me.", name=name)
        assert response.status_code == 400, name
        assert "author_name" in response.get_json()["error"]["fields"]
    assert post_comment(client, "Fine.", name="editorial fan").status_code == 201
    registered = client.post("/api/v1/auth/register", json={"email": "x@example.com", "password": PASSWORD,
                                                            "display_name": "Editor"})
    assert registered.status_code == 400


def test_staff_changes_are_audited_for_admins(app, client):
    world = build_world()
    admin, moderator = world.users["admin"], world.users["moderator"]
    from discuss.identity.staff import create_staff
    from discuss.models import StaffEvent
    create_staff("cli.admin@example.com", PASSWORD, admin=True)              # the CLI's create-moderator
    sign_in(client, admin)
    client.post("/mod/staff/invite", data={"email": "reader@example.com", "role": "moderator",
                                           "sites": [str(world.other_site.id)]})  # a reader promoted
    client.post(f"/mod/staff/{moderator.id}/roles", data={"role": "admin"})
    client.post(f"/mod/staff/{moderator.id}/roles", data={"role": "admin"})   # no change, no row
    client.post(f"/mod/staff/{moderator.id}/deactivate")
    client.post(f"/mod/staff/{moderator.id}/reactivate")

    rows = db.session.query(StaffEvent).order_by(StaffEvent.id).all()
    assert [(r.action, r.target_email, r.actor_label) for r in rows] == [
        ("create", "cli.admin@example.com", "cli"),
        ("invite", "reader@example.com", f"staff:{admin.id}"),
        ("roles", "mod@example.com", f"staff:{admin.id}"),
        ("deactivate", "mod@example.com", f"staff:{admin.id}"),
        ("reactivate", "mod@example.com", f"staff:{admin.id}")]
    assert rows[1].details["old"]["role"] == "reader"
    assert rows[1].details["new"] == {"role": "moderator", "sites": [world.other_site.id], "active": True}
    assert (rows[2].details["old"]["role"], rows[2].details["new"]["role"]) == ("moderator", "admin")
    assert (rows[3].details["old"]["active"], rows[3].details["new"]["active"]) == (True, False)

    forget_cached_user()
    page = client.get("/mod/staff").get_data(as_text=True)
    assert "Staff changes" in page and f'id="staff-event-{rows[3].id}"' in page
    assert "moderator of sports" in page                                      # sites shown by slug
    sign_in(client, world.users["other_moderator"])
    assert client.get("/mod/staff").status_code == 403                        # admins only
