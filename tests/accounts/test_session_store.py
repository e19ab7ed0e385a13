"""accounts/sessions.py reads a session with a statement of its own: it must answer as Django's database store."""

from datetime import timedelta

import pytest
from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.utils import timezone

from strongbox.accounts.sessions import SessionStore

pytestmark = pytest.mark.django_db


def test_it_loads_a_live_session_as_djangos_store_does():
    stored = SessionStore()
    stored["answer"] = 42
    stored.save()
    assert SessionStore(stored.session_key).load() == db.SessionStore(stored.session_key).load() == {"answer": 42}


@pytest.mark.parametrize("state", ["expired", "missing"])
def test_an_expired_or_missing_session_is_empty_and_gets_a_new_key(state):
    stored = SessionStore()
    stored["answer"] = 42
    stored.save()
    key = stored.session_key
    if state == "expired":
        Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    else:
        Session.objects.filter(session_key=key).delete()
    reader = SessionStore(key)
    assert reader.load() == {}
    assert reader.session_key is None  # as Django's: saving it makes a new session, never revives the old key
    reader["answer"] = 1
    reader.save()
    assert reader.session_key != key
