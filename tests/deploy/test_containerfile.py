"""deploy/Containerfile as text (building it is `make image-test`, not this suite): the runtime stage's user, port,
volume, health check and command are the ones compose and the Kubernetes manifests rely on."""

import json
import re
from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Containerfile, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", "\n".join(line for line in (DEPLOY / "Containerfile").read_text().splitlines()
                                             if not line.lstrip().startswith("#")))
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line.strip() else "")
            for line in text.splitlines() if line.strip()]


def runtime_stage() -> list[tuple[str, str]]:
    found = instructions()
    last = max(index for index, (name, _) in enumerate(found) if name == "FROM")
    return found[last:]


def test_it_builds_in_two_stages_from_the_imported_bases():
    stages = [arguments for name, arguments in instructions() if name == "FROM"]
    assert stages == ["${BUILD_BASE} AS build", "${RUNTIME_BASE}"]
    arguments = dict(arguments.split("=", 1) for name, arguments in instructions() if name == "ARG")
    assert arguments == {"BUILD_BASE": "localhost/strongbox-build-base:bookworm",
                         "RUNTIME_BASE": "localhost/strongbox-base:bookworm"}
    # Only the venv (and the sources beside it) come over from the build stage.
    assert [arguments for name, arguments in runtime_stage() if name == "COPY"] == [
        "--from=build /opt/strongbox /opt/strongbox"]


def test_it_installs_only_locked_wheels_without_network():
    runs = " ".join(arguments for name, arguments in instructions() if name == "RUN")
    for install in re.findall(r"pip install [^&]*", runs):
        assert "--no-index" in install and "--find-links /wheels" in install
    assert "--require-hashes" in runs


def test_it_runs_as_an_unprivileged_user_with_a_data_volume():
    stage = dict(runtime_stage())
    assert stage["USER"] == "10001:10001"
    assert stage["VOLUME"] == "/data"
    assert stage["EXPOSE"] == "8000"
    assert "STRONGBOX_DATA_DIR=/data" in stage["ENV"]
    assert "install -d -o 10001 -g 10001 -m 0700 /data" in stage["RUN"]


def test_it_checks_readiness_and_serves_by_default():
    stage = dict(runtime_stage())
    assert json.loads(stage["ENTRYPOINT"]) == ["strongbox"]
    assert json.loads(stage["CMD"]) == ["serve", "--host", "0.0.0.0", "--port", "8000"]  # noqa: S104
    options, _, command = stage["HEALTHCHECK"].partition(" CMD ")
    check = json.loads(command)
    assert check[:2] == ["python3", "-c"] and "/readyz" in check[2] and "urllib" in check[2]
    assert "--interval=" in options and "--start-period=" in options
