"""Staff with the change-user permission against the accounts above them (issue 9, finding 4): the admin's password
form and its e-mail and status fields must not let them take over a superuser or another staff member, nor make
anyone staff; what they may change is audited."""

import re
import secrets
from html.parser import HTMLParser

import pytest

from conftest import PASSWORD

pytestmark = pytest.mark.security
NEW_PASSWORD = "taken over by the helpdesk"


class FormFields(HTMLParser):
    """The values a browser would submit for the admin's change form as shown."""

    def __init__(self):
        super().__init__()
        self.values: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag != "input" or not name or attrs.get("type") in ("submit", "button", "file"):
            return
        if attrs.get("type") == "checkbox":
            if "checked" in attrs:
                self.values[name] = attrs.get("value") or "on"
            return
        self.values[name] = attrs.get("value") or ""


def fields_of(page: str) -> dict[str, str]:
    parser = FormFields()
    parser.feed(page)
    return parser.values


def account(server, *options: str) -> tuple[str, int]:
    name = f"adm{secrets.token_hex(4)}"
    server.strongbox("createuser", "--username", name, "--email", f"{name}@example.com", *options,
                     STRONGBOX_PASSWORD=PASSWORD)
    return name, server.query("SELECT id FROM accounts_user WHERE username = ?", (name,))[0][0]


@pytest.fixture(scope="module")
def helpdesk(server):
    """A staff member allowed to view, change and delete users, but not a superuser."""
    name, _ = account(server, "--staff")
    server.strongbox("shell", "-c", (
        "from django.contrib.auth.models import Permission; from strongbox.accounts.models import User; "
        f"User.objects.get(username='{name}').user_permissions.add("
        "*Permission.objects.filter(codename__in=['view_user', 'change_user', 'delete_user']))"))
    return name, server.signed_in(name)


def row(server, user_id: int) -> tuple:
    return server.query("SELECT password, email, is_active, is_staff, is_superuser FROM accounts_user WHERE id = ?",
                        (user_id,))[0]


def post(server, session, path: str, data: dict):
    token = server.csrf(session, "/documents/upload/")
    return session.post(server.url + path, allow_redirects=False, data={**data, "csrfmiddlewaretoken": token})


@pytest.mark.parametrize("target", ["--superuser", "--staff"])
def test_staff_cannot_set_the_password_of_a_superuser_or_another_staff_member(server, helpdesk, target):
    _, session = helpdesk
    name, user_id = account(server, target)
    before = row(server, user_id)
    path = f"/admin/accounts/user/{user_id}/password/"
    assert session.get(server.url + path, allow_redirects=False).status_code == 403
    answer = post(server, session, path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD,
                                          "usable_password": "true"})
    assert answer.status_code == 403
    assert row(server, user_id) == before
    assert server.query("SELECT count(*) FROM accounts_auditevent WHERE kind = 'access_refused' AND username = ? "
                        "AND detail LIKE ?", (helpdesk[0], f"%{name}%"))[0][0] >= 1


@pytest.mark.parametrize("target", ["--superuser", "--staff"])
def test_staff_cannot_change_the_email_or_status_of_a_superuser_or_another_staff_member(server, helpdesk, target):
    _, session = helpdesk
    name, user_id = account(server, target)
    before = row(server, user_id)
    page = session.get(server.url + f"/admin/accounts/user/{user_id}/change/")
    fields = fields_of(page.text)
    for change in ({"email": "helpdesk-owned@example.com"}, {"is_active": ""}, {"is_superuser": ""},
                   {"is_staff": ""}):
        data = {"username": name, "email": f"{name}@example.com", "is_active": "on", "date_joined_0": "2026-01-01",
                "date_joined_1": "00:00:00", **fields, **change, "_save": "Save"}
        assert post(server, session, f"/admin/accounts/user/{user_id}/change/", data).status_code == 403
    delete = post(server, session, f"/admin/accounts/user/{user_id}/delete/", {"post": "yes"})
    assert delete.status_code == 403
    bulk = post(server, session, "/admin/accounts/user/", {"action": "delete_selected", "_selected_action": user_id,
                                                           "post": "yes"})
    assert bulk.status_code in (200, 403)
    assert row(server, user_id) == before


def test_staff_cannot_make_anyone_staff_but_may_edit_a_user_and_it_is_audited(server, helpdesk):
    staff_name, session = helpdesk
    name, user_id = account(server)
    page = session.get(server.url + f"/admin/accounts/user/{user_id}/change/")
    assert page.status_code == 200
    data = {**fields_of(page.text), "email": f"{name}-moved@example.com", "is_staff": "on", "is_superuser": "on",
            "_save": "Save"}
    assert post(server, session, f"/admin/accounts/user/{user_id}/change/", data).status_code == 302
    _, email, is_active, is_staff, is_superuser = row(server, user_id)
    assert (email, is_active, is_staff, is_superuser) == (f"{name}-moved@example.com", 1, 0, 0)
    path = f"/admin/accounts/user/{user_id}/password/"
    assert post(server, session, path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD,
                                        "usable_password": "true"}).status_code == 302
    events = server.query("SELECT kind, detail FROM accounts_auditevent WHERE username = ? AND detail LIKE ? "
                          "ORDER BY id", (staff_name, f"%{name}%"))
    kinds = [kind for kind, _ in events]
    assert kinds == ["email_changed", "password_changed"], events
    assert all("admin" in detail for _, detail in events)
    assert re.search(r"moved@example\.com", events[0][1])
