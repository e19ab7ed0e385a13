"""Cached per-user values (totals, tag counts, suggestions, the tag-options fragment) are served from the cache and
never outlive a change to the user's documents."""

import pytest
from django.core.cache import cache as django_cache
from django.urls import reverse

from strongbox.documents import cache, selectors, services
from strongbox.documents.models import Document

pytestmark = pytest.mark.django_db


def test_totals_come_from_the_cache_until_a_document_changes(uploaded, alice, django_assert_num_queries):
    uploaded("txt")
    first = selectors.user_totals(alice)
    with django_assert_num_queries(0):
        assert selectors.user_totals(alice) == first
    uploaded("txt")
    assert selectors.user_totals(alice)["count"] == first["count"] + 1


def test_tag_counts_follow_edits_and_deletes(uploaded, alice, django_capture_on_commit_callbacks):
    document = uploaded("txt", tags="bank")
    assert [(t.name, t.uses) for t in selectors.tags_for_user(alice)] == [("bank", 1)]
    with django_capture_on_commit_callbacks(execute=True):
        services.document_update(document=document, title=document.title, description="", category="other",
                                 tags=["home"])
    assert [(t.name, t.uses) for t in selectors.tags_for_user(alice)] == [("home", 1)]
    with django_capture_on_commit_callbacks(execute=True):
        services.document_delete(document=Document.objects.get())
    assert selectors.tags_for_user(alice) == []


def test_suggestions_are_cached_per_query_and_refreshed_by_a_rename(uploaded, alice, django_assert_num_queries,
                                                                    django_capture_on_commit_callbacks):
    document = uploaded("txt", title="Mortgage")
    assert [d.title for d in selectors.search_suggestions(alice, "mort")] == ["Mortgage"]
    with django_assert_num_queries(0):
        selectors.search_suggestions(alice, "mort")
    with django_capture_on_commit_callbacks(execute=True):
        services.document_update(document=document, title="Lease", description="", category="other", tags=[])
    assert selectors.search_suggestions(alice, "mort") == []


def test_users_have_separate_versions(uploaded, alice, bob):
    before = cache.version(bob.pk)
    uploaded("txt")
    assert cache.version(bob.pk) == before


def test_it_bumps_the_version_only_once_the_write_has_committed(uploaded, alice, django_capture_on_commit_callbacks):
    document = uploaded("txt", title="Mortgage")
    before = cache.version(alice.pk)
    with django_capture_on_commit_callbacks() as callbacks:
        services.document_update(document=document, title="Lease", description="", category="other", tags=[])
        # Inside the transaction the cache is not called: no cache wait while the write holds its locks.
        assert cache.version(alice.pk) == before
    for callback in callbacks:
        callback()
    assert cache.version(alice.pk) != before


def test_a_value_cached_before_the_commit_is_not_served_after_it(alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        cache.bump(alice.pk)
        # A concurrent request that has not seen the write yet caches what it saw, under the version it read
        # before computing the value...
        stale = cache.cached(alice.pk, "totals", lambda: {"count": -1, "size": 0})
    assert stale["count"] == -1
    # ...which the bump at commit leaves behind.
    assert selectors.user_totals(alice) == {"count": 0, "size": 0}


def test_an_evicted_version_never_reuses_an_old_number(alice):
    old = cache.version(alice.pk)
    cache.cached(alice.pk, "totals", lambda: {"count": 99, "size": 0})
    django_cache.delete(f"documents:version:{alice.pk}")
    assert cache.version(alice.pk) != old
    assert selectors.user_totals(alice) == {"count": 0, "size": 0}


def test_the_tag_options_fragment_is_refreshed_by_changes_and_selection(alice_client, uploaded):
    uploaded("txt", tags="bank")
    page = alice_client.get(reverse("documents:list")).content.decode()
    assert ">bank (1)</option>" in page
    uploaded("txt", tags="bank, home")
    page = alice_client.get(reverse("documents:list")).content.decode()
    assert ">bank (2)</option>" in page and ">home (1)</option>" in page
    selected = alice_client.get(reverse("documents:list"), {"tag": "home"}).content.decode()
    assert '<option value="home" selected>' in selected
