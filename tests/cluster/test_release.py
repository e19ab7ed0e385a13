"""`strongbox cluster release`: the running servers switch to another checkout of the code by a rolling, a
blue/green and a canary release (rolled back once, promoted once), and back by a rollback, under open-model load
and uploads through the balancer, without a failed request or a lost upload. The other checkout carries a real
expand migration (a new column with a database default), so old and new code run side by side on one schema, as
docs/operations.md ("Releases") requires; the canary gets about its share of the requests.

The pure parts (the strategy, the canary's weights) are tested first, without a cluster."""

import csv
import io
import shutil
import threading
import time
from pathlib import Path

import openload
import pytest
from django.conf import settings
from faults_help import Background, Ledger, Load, create_account, manage, sign_in, upload_while
from running import ROOT, RunningCluster

from strongbox.cluster.release import ReleaseError, Strategy, canary_count, canary_weights, checkout

RATE = 30
LOAD = (openload.Request(path="/documents/"), openload.Request(path="/accounts/login/"),
        openload.Request(path="/healthz"))
# The expand step of a real schema change: a column the new code has and the old code does not know. Its
# database default fills it for the old code's INSERTs, which do not name it; reads name their columns.
EXPAND_MIGRATION = '''from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("documents", "{previous}")]
    operations = [migrations.AddField("document", "reviewed", models.BooleanField(db_default=False))]
'''


# -- without a cluster ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("rolling", Strategy("rolling")), ("bluegreen", Strategy("bluegreen")), ("canary", Strategy("canary", 10)),
    ("canary:25", Strategy("canary", 25))])
def test_it_reads_a_strategy(text, expected):
    assert Strategy.parse(text) == expected
    assert str(expected) == (text if text != "canary" else "canary:10")


@pytest.mark.parametrize(("text", "message"), [
    ("big-bang", "unknown strategy"), ("rolling:10", "only a canary"), ("canary:x", "whole percentage"),
    ("canary:0", "from 1 to 50"), ("canary:60", "from 1 to 50")])
def test_it_refuses_a_strategy_it_does_not_know(text, message):
    with pytest.raises(ReleaseError, match=message):
        Strategy.parse(text)


@pytest.mark.parametrize(("stable", "canaries", "percent"), [(2, 1, 10), (2, 1, 25), (4, 1, 5), (3, 1, 50),
                                                              (10, 1, 50), (1, 1, 50), (20, 4, 20)])
def test_it_weighs_the_canary_to_its_share(stable, canaries, percent):
    stable_weight, canary_weight = canary_weights(stable, canaries, percent)
    assert 1 <= stable_weight <= 256 and 1 <= canary_weight <= 256
    share = canaries * canary_weight / (canaries * canary_weight + stable * stable_weight)
    assert share == pytest.approx(percent / 100, abs=0.01)


def test_it_starts_enough_canaries_for_their_share():
    assert [canary_count(servers, 10) for servers in (1, 2, 10, 11, 30)] == [1, 1, 1, 2, 3]


def test_it_refuses_a_directory_that_is_not_a_checkout(tmp_path):
    with pytest.raises(ReleaseError, match="not a checkout of Strongbox"):
        checkout(tmp_path)
    assert checkout(ROOT) == ROOT


# -- a real cluster --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def next_code(tmp_path_factory) -> Path:
    """This checkout's code with one more migration and the field it adds: the next version."""
    root = tmp_path_factory.mktemp("next") / "strongbox"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for part in ("src", "templates", "static"):
        shutil.copytree(ROOT / part, root / part, ignore=ignore)
    migrations = root / "src" / "strongbox" / "documents" / "migrations"
    previous = max(path.stem for path in migrations.glob("0*.py"))
    number = int(previous[:4]) + 1
    (migrations / f"{number:04d}_document_reviewed.py").write_text(EXPAND_MIGRATION.format(previous=previous))
    models = root / "src" / "strongbox" / "documents" / "models.py"
    text = models.read_text()
    opening = text.index('"""', text.index("class Document(models.Model):"))
    docstring_end = text.index('"""', opening + 3) + 3
    models.write_text(text[:docstring_end] + "\n\n    reviewed = models.BooleanField(db_default=False)"
                      + text[docstring_end:])
    return root


@pytest.fixture(scope="module")
def cluster(cluster_binaries):
    running = RunningCluster("--servers", "2", "--workers", "1", env={"STRONGBOX_API_RATE_LIMIT": "100000"})
    yield running
    running.stop()


def codes(cluster: RunningCluster) -> dict[str, str]:
    return {entry["name"]: entry["code"] for entry in cluster.status()["components"] if entry["role"] in (
        "app", "worker")}


def answered(cluster: RunningCluster) -> dict[str, int]:
    """Responses each app server has given, as the balancer counts them (requests, not connections)."""
    rows = csv.DictReader(io.StringIO(cluster.runtime.execute("show stat").removeprefix("# ")))
    return {row["svname"]: sum(int(row[f"hrsp_{kind}"] or 0) for kind in ("1xx", "2xx", "3xx", "4xx", "5xx", "other"))
            for row in rows if row["pxname"] == "app" and row["svname"] not in ("FRONTEND", "BACKEND")}


class Traffic:
    """Open-model reads and closed-loop uploads through the balancer while a release runs."""

    def __init__(self, cluster: RunningCluster, cookies: dict[str, str], uploader, ledger: Ledger):
        self.load = Load(cluster.url, RATE, lambda index: LOAD[index % len(LOAD)], cookies=cookies, timeout=15)
        self.stop_uploads, self.ledger, self.start = threading.Event(), ledger, len(ledger.uploads)
        self.uploads = Background(upload_while, self.stop_uploads, cluster.url, uploader, ledger, uploaders=1,
                                  size=16 * 1024, pause=0.3)

    def finish(self, what: str) -> None:
        self.stop_uploads.set()
        self.uploads.result()
        report = self.load.stop()
        uploads = self.ledger.uploads[self.start:]
        refused = [upload for upload in uploads if upload.status != 201]
        summary = report.summary()
        print(f"\n{what}: {summary['sent']} requests, {summary['failed']} failed, {summary['client_errors']} 4xx; "
              f"{len(uploads)} uploads, {len(refused)} not acknowledged")
        assert summary["failed"] == 0, report.failures_by_reason()
        assert summary["client_errors"] == 0
        assert refused == []


@pytest.mark.skipif(settings.SCALE_OUT_RUN, reason="the cluster runs its own data tier: the embedded pass runs it")
def test_it_releases_and_rolls_back_by_every_strategy_without_failing_a_request(cluster, next_code):
    alice, carol = create_account(cluster, "alice"), create_account(cluster, "carol")
    cookies, ledger = sign_in(cluster.url, alice), Ledger()
    before = codes(cluster)
    assert set(before.values()) == {"the cluster's own checkout"}

    # A canary of a quarter: it gets about its share, and a rollback removes it.
    traffic = Traffic(cluster, cookies, carol, ledger)
    time.sleep(1)
    cluster.command("release", "--code", str(next_code), "--strategy", "canary:25")
    canary = cluster.status()["release"]["canary"]
    assert len(canary["servers"]) == 1 and canary["percent"] == 25
    # Once it has ramped up (slowstart), the canary's share of the responses over a few seconds.
    cluster.wait_for(lambda status: all(entry["balancer"]["ramp_percent"] is None for entry in status["components"]
                                        if entry["role"] == "app"), "the canary did not finish ramping up")
    first = answered(cluster)
    time.sleep(8)
    counts = {name: count - first.get(name, 0) for name, count in answered(cluster).items()}
    share = counts[canary["servers"][0]] / sum(counts.values())
    print(f"\ncanary:25 got {share:.0%} of {sum(counts.values())} requests")
    assert 0.15 <= share <= 0.35
    cluster.command("release", "--rollback")
    traffic.finish("canary, then its rollback")
    assert set(codes(cluster).values()) == {"the cluster's own checkout"}
    assert cluster.status()["release"]["canary"] is None

    # Blue/green to the next version: its migration runs first, then every request moves at once.
    traffic = Traffic(cluster, cookies, carol, ledger)
    time.sleep(1)
    cluster.command("release", "--code", str(next_code), "--strategy", "bluegreen")
    traffic.finish("blue/green release")
    after = codes(cluster)
    assert set(after.values()) == {str(next_code)} and not set(after) & {name for name in before if "app" in name}
    columns = manage(cluster, "shell", "-c", "from django.db import connection\n"
                     "print([c.name for c in connection.introspection.get_table_description("
                     "connection.cursor(), 'documents_document')])")
    assert "'reviewed'" in columns

    # A rollback releases the previous code the same way; the old code works on the expanded schema.
    traffic = Traffic(cluster, cookies, carol, ledger)
    time.sleep(1)
    cluster.command("release", "--rollback")
    traffic.finish("rollback (blue/green) to the old code on the expanded schema")
    assert set(codes(cluster).values()) == {"the cluster's own checkout"}

    # Rolling: one server at a time.
    traffic = Traffic(cluster, cookies, carol, ledger)
    time.sleep(1)
    cluster.command("release", "--code", str(next_code), "--strategy", "rolling")
    traffic.finish("rolling release")
    assert set(codes(cluster).values()) == {str(next_code)}
    assert len([name for name in codes(cluster) if name.startswith("app")]) == 2

    # A canary promoted: the canary stays, the old servers are replaced one by one.
    traffic = Traffic(cluster, cookies, carol, ledger)
    time.sleep(1)
    cluster.command("release", "--code", str(ROOT), "--strategy", "canary:10")
    canaries = cluster.status()["release"]["canary"]["servers"]
    cluster.command("release", "--promote")
    traffic.finish("canary of 10 %, promoted")
    assert set(codes(cluster).values()) == {str(ROOT)} and set(canaries) <= set(codes(cluster))
    assert len([name for name in codes(cluster) if name.startswith("app")]) == 2
    assert cluster.status()["release"]["canary"] is None
    assert all(upload.status == 201 for upload in ledger.uploads)
