"""Signing up reveals nothing about which addresses have accounts (issue 15): the same answer for
every address, an account only from the emailed link, and a warning to the owner of an address
that already has one. Mail goes through a real SMTP server (fixtures from test_notifications)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from discuss.extensions import db
from discuss.models import AuthorKind, PendingRegistration, User, utcnow
from tests.factories import make_site
from tests.test_notifications import app_config, link_in, local, smtp, text_of  # noqa: F401  (fixtures)

PASSWORD = "correct horse battery"
ATTACKER_PASSWORD = "the attacker's passphrase"


def register(client, email, password=PASSWORD, name="Ann"):
    return client.post("/api/v1/auth/register", json={"email": email, "password": password, "display_name": name})


def login(client, email, password=PASSWORD):
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


def accounts() -> int:
    return db.session.scalar(select(func.count(User.id)).where(User.kind == AuthorKind.ACCOUNT))


def test_new_and_taken_addresses_get_the_same_answer_and_the_owner_is_told(app, smtp):
    make_site()
    client = app.test_client()
    owner = User(kind=AuthorKind.ACCOUNT, email="taken@example.com", display_name="Owner", email_verified=True,
                 password_hash="scrypt:owner-hash", moderated_site_ids=[])
    db.session.add(owner)
    db.session.commit()

    new = register(client, "fresh@example.com")
    taken = register(client, "TAKEN@example.com", password=ATTACKER_PASSWORD)

    assert new.status_code == taken.status_code == 202
    assert new.get_data() == taken.get_data()
    assert new.get_json()["status"] == "check_email"
    messages = {m["To"]: m for m in smtp.wait_for(2)}
    assert set(messages) == {"fresh@example.com", "taken@example.com"}
    assert messages["fresh@example.com"]["Subject"] == "Finish creating your comment account"
    warning = messages["taken@example.com"]
    assert warning["Subject"] == "Someone tried to register with your email address"
    assert "already has one" in text_of(warning) and "/auth/reset?token=" in text_of(warning)
    db.session.expire_all()
    assert db.session.get(User, owner.id).password_hash == "scrypt:owner-hash"   # nothing changed
    assert accounts() == 1                                                        # no account before the link
    assert db.session.scalar(select(func.count(PendingRegistration.id))) == 1    # only the new address waits


def test_the_link_creates_the_account_once_and_signing_in_works_only_after_it(app, smtp):
    make_site()
    client = app.test_client()
    register(client, "ann@example.com")
    [message] = smtp.wait_for(1)
    refused, unknown = login(client, "ann@example.com"), login(client, "nobody@example.com")
    assert refused.status_code == 401 and refused.get_json() == unknown.get_json()  # a sign-up is not an account

    link = local(link_in(message, "/api/v1/auth/register/confirm"))
    page = client.get(link, headers={"Accept": "text/html"})
    assert page.status_code == 200 and "Your account is ready" in page.get_data(as_text=True)
    user = db.session.scalar(select(User).where(User.email == "ann@example.com"))
    assert user.email_verified is True and user.display_name == "Ann"
    signed_in = login(client, "ann@example.com")
    assert signed_in.status_code == 200 and signed_in.get_json()["viewer"]["email_verified"] is True
    again = client.get(link)
    assert again.status_code == 400 and again.get_json()["error"]["code"] == "invalid_link"
    assert accounts() == 1


def test_someone_signing_up_with_another_persons_address_gains_nothing(app, smtp):
    """The owner's own link creates the account with the owner's password, whoever signed up first."""
    make_site()
    client = app.test_client()
    register(client, "victim@example.com", password=ATTACKER_PASSWORD, name="Mallory")
    register(client, "victim@example.com", password=PASSWORD, name="Vic")
    first, second = smtp.wait_for(2)
    assert "Hello Vic" in text_of(second)
    assert client.get(local(link_in(second, "/api/v1/auth/register/confirm"))).status_code == 200
    assert login(client, "victim@example.com").status_code == 200
    assert login(client, "victim@example.com", ATTACKER_PASSWORD).status_code == 401
    # The other link (it went to the victim's mailbox too) no longer does anything.
    assert client.get(local(link_in(first, "/api/v1/auth/register/confirm"))).status_code == 400
    assert accounts() == 1


def test_an_expired_sign_up_link_is_refused(app, smtp):
    make_site()
    client = app.test_client()
    register(client, "ann@example.com")
    [message] = smtp.wait_for(1)
    db.session.execute(update(PendingRegistration).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    response = client.get(local(link_in(message, "/api/v1/auth/register/confirm")))
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "link_expired"
    assert accounts() == 0


def test_without_mail_signing_up_is_refused_for_every_address_alike(make_app):
    app = make_app(PUBLIC_URL=None)
    with app.app_context():
        make_site()
        db.session.add(User(kind=AuthorKind.ACCOUNT, email="taken@example.com", display_name="Owner",
                            moderated_site_ids=[]))
        db.session.commit()
        client = app.test_client()
        new, taken = register(client, "fresh@example.com"), register(client, "taken@example.com")
        assert new.status_code == taken.status_code == 403
        assert new.get_data() == taken.get_data()
        assert db.session.scalar(select(func.count(PendingRegistration.id))) == 0


def test_the_sign_up_email_speaks_the_widgets_language_and_the_warning_the_owners(app, smtp):
    make_site()
    client = app.test_client()
    owner = User(kind=AuthorKind.ACCOUNT, email="taken@example.com", display_name="Owner", email_verified=True,
                 password_hash="scrypt:owner-hash", moderated_site_ids=[], language="de")
    db.session.add(owner)
    db.session.commit()
    for email in ("olya@example.com", "taken@example.com"):
        answer = client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD,
                                                              "display_name": "Оля", "language": "uk"})
        assert answer.status_code == 202
    messages = {m["To"]: m for m in smtp.wait_for(2)}
    sign_up = messages["olya@example.com"]
    assert sign_up["Subject"] == "Завершіть створення облікового запису для коментарів"
    assert "Вітаємо, Оля!" in text_of(sign_up) and "протягом" in text_of(sign_up)
    warning = messages["taken@example.com"]  # the owner's language, not the one who tried
    assert warning["Subject"] == "Jemand hat versucht, sich mit Ihrer E-Mail-Adresse zu registrieren"
    assert "Sie haben bereits ein Konto" in text_of(warning) and "/auth/reset?token=" in text_of(warning)
