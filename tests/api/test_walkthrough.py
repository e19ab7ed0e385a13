"""The curl-only walkthrough in scripts/ runs against a live server: upload, list, search, download, update with
If-Match, delete."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import make_user
from samples import SAMPLES
from strongbox.accounts.services import api_key_create

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "api-walkthrough.sh"


@pytest.mark.django_db(transaction=True)
def test_a_curl_script_can_do_everything(live_server, tmp_path):
    if not shutil.which("curl"):
        if os.environ.get("CI") == "true":
            pytest.fail("curl is required")
        pytest.skip("curl is not installed")
    user = make_user("scripter", "!")
    _, key = api_key_create(user=user, name="curl", scope="write")
    filename, content, word = SAMPLES["pdf"]
    document = tmp_path / filename
    document.write_bytes(content)
    result = subprocess.run(  # noqa: S603 - our own script
        [shutil.which("bash"), str(SCRIPT), str(document), word], capture_output=True, text=True, timeout=120,
        env={**os.environ, "STRONGBOX_URL": live_server.url, "STRONGBOX_KEY": key})
    assert result.returncode == 0, result.stdout + result.stderr
    for line in ("listed", "found", "downloaded bytes are identical", "a stale If-Match is refused with 412",
                 "deleted"):
        assert line in result.stdout
