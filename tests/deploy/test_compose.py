"""deploy/compose.yaml, read as data (compose is not run here): every service has a pinned image, a health check
unless it is a one-shot, the secrets and services it refers to exist, no secret is written in it, and the
Strongbox services have the scale-out environment. Its HAProxy configuration is what strongbox.cluster renders,
and `haproxy -c` accepts it; `docker-compose config` accepts the file (both binaries missing: skipped, or failed
with CI=true)."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from services.common import require_tool
from strongbox.cluster.render import render_haproxy
from strongbox.cluster.spec import BalancerSpec, Server

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
COMPOSE = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]
STRONGBOX = ("app", "worker", "migrate")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|KEY|TOKEN", re.IGNORECASE)
DEFAULTED = re.compile(r"\$\{[A-Z_]+:-([^}]*)\}")


def one_shot(service: dict) -> bool:
    return service.get("restart") == "no"


def resolved(text: str) -> str:
    """A value with its ${NAME:-default} variables at their defaults."""
    return DEFAULTED.sub(lambda match: match.group(1), text)


def test_it_has_the_whole_topology():
    assert set(SERVICES) == {"haproxy", "app", "worker", "migrate", "db-primary", "db-replica", "redis", "s3",
                             "s3-bucket"}
    assert SERVICES["app"]["deploy"]["replicas"] >= 2
    assert SERVICES["app"]["command"] == ["serve", "--no-worker", "--host", "0.0.0.0", "--port", "8000"]  # noqa: S104
    assert SERVICES["worker"]["command"] == ["worker"]
    assert SERVICES["migrate"]["command"] == ["migrate", "--noinput"]


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_it_gives_every_service_a_pinned_image(name):
    image = resolved(SERVICES[name].get("image", ""))
    assert image or SERVICES[name].get("build"), f"{name} has neither image nor build"
    if image:
        tag = image.rpartition(":")[2] if ":" in image.rpartition("/")[2] else None
        assert tag not in (None, "latest"), f"{name} runs {image}, which is :latest"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_it_checks_the_health_of_every_long_running_service(name):
    service = SERVICES[name]
    if one_shot(service):
        assert "healthcheck" not in service
        return
    test = service.get("healthcheck", {}).get("test")
    assert test and test[0] in ("CMD", "CMD-SHELL"), f"{name} has no health check"


def test_it_refers_only_to_services_that_exist_and_waits_for_them_properly():
    for name, service in SERVICES.items():
        for target, condition in service.get("depends_on", {}).items():
            assert target in SERVICES, f"{name} depends on {target}, which is not a service"
            if condition["condition"] == "service_completed_successfully":
                assert one_shot(SERVICES[target]), f"{name} waits for {target} to complete, but it keeps running"
            else:
                assert condition["condition"] == "service_healthy"
                assert "healthcheck" in SERVICES[target], f"{name} waits for {target}'s health, which is unchecked"


def test_it_declares_every_secret_it_mounts_and_mounts_every_one_it_declares():
    declared = set(COMPOSE["secrets"])
    used = {secret for service in SERVICES.values() for secret in service.get("secrets", [])}
    assert used == declared
    for name, secret in COMPOSE["secrets"].items():
        assert set(secret) == {"file"}, f"secret {name} must be a file"
        assert secret["file"].startswith("./compose/secrets/")


def test_it_writes_no_secret_value_in_the_file():
    for name, service in SERVICES.items():
        for variable, value in service.get("environment", {}).items():
            if SECRET_NAME.search(variable) and not variable.endswith("_FILE"):
                pytest.fail(f"{name} sets {variable} to a literal value")
            assert not re.search(r"://[^/@\s]*:[^/@\s]*@", str(value)), f"{name}: {variable} has a password in it"


def test_it_gives_the_strongbox_services_the_scale_out_environment():
    for name in STRONGBOX:
        environment = SERVICES[name]["environment"]
        assert environment["DATABASE_URL"].startswith("postgres://strongbox@db-primary:")
        assert environment["DATABASE_REPLICA_URLS"].startswith("postgres://strongbox@db-replica:")
        assert environment["REDIS_URL_FILE"] == "/run/secrets/redis_url"
        assert environment["STRONGBOX_STORAGE"] == "s3"
        assert environment["STRONGBOX_ENV"] == "production"
        assert environment["STRONGBOX_TRUSTED_PROXIES"] == SERVICES["haproxy"]["networks"]["backend"]["ipv4_address"]
        for variable, value in environment.items():
            if variable.endswith("_FILE"):
                assert value.removeprefix("/run/secrets/") in SERVICES[name]["secrets"], f"{name}: {variable}"
        assert SERVICES[name]["read_only"] is True and SERVICES[name]["cap_drop"] == ["ALL"]


def test_it_mounts_files_that_exist():
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (DEPLOY / source).is_file(), f"{name} mounts {source}, which does not exist"


def _balancer_lines(text: str) -> list[str]:
    """The configuration without comments, blank lines, server lines and the resolvers section."""
    lines, in_resolvers = [], False
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line.startswith(" "):
            in_resolvers = line.startswith("resolvers ")
        if in_resolvers or line.lstrip().startswith(("server ", "server-template ")):
            continue
        lines.append(line)
    return lines


def test_it_balances_as_the_cluster_renderer_does():
    anywhere = "0.0.0.0"  # noqa: S104  # inside the HAProxy container
    spec = BalancerSpec(servers=(Server("app1", "app", 8000),), runtime_socket="/var/lib/haproxy/admin.sock",
                        tls_certificate="/run/secrets/tls_certificate", bind_host=anywhere, http_port=8080,
                        https_port=8443, admin_host=anywhere)
    static = (DEPLOY / "compose" / "haproxy.cfg").read_text()
    assert _balancer_lines(static) == _balancer_lines(render_haproxy(spec))
    assert "    server-template app- 1-10 app:8000 resolvers compose init-addr none" in static.splitlines()
    # The health check's Host is one the app servers accept.
    assert SERVICES["app"]["environment"]["STRONGBOX_ALLOWED_HOSTS"] == "${STRONGBOX_HOST_NAME:-localhost}"
    assert "    http-check send hdr Host localhost hdr X-Forwarded-Proto https" in static.splitlines()


@pytest.fixture(scope="module")
def compose_copy(tmp_path_factory) -> Path:
    """deploy/compose.yaml and deploy/compose/ in a temporary directory, with the secrets make-secrets.sh makes."""
    tmp_path = tmp_path_factory.mktemp("compose")
    shutil.copy(DEPLOY / "compose.yaml", tmp_path / "compose.yaml")
    shutil.copytree(DEPLOY / "compose", tmp_path / "compose", ignore=shutil.ignore_patterns("secrets"))
    result = subprocess.run(["sh", str(tmp_path / "compose" / "make-secrets.sh"), "localhost"],  # noqa: S603, S607
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    return tmp_path


def test_it_makes_every_secret_file(compose_copy):
    secrets = compose_copy / "compose" / "secrets"
    assert (secrets.stat().st_mode & 0o777) == 0o700
    for secret in COMPOSE["secrets"].values():
        assert (compose_copy / secret["file"]).read_text().strip()
    redis_password = (secrets / "redis_password").read_text().strip()
    assert (secrets / "redis_url").read_text().strip() == f"redis://:{redis_password}@redis:6379/0"
    assert "BEGIN CERTIFICATE" in (secrets / "tls_certificate.pem").read_text()
    first = {path.name: path.read_text() for path in secrets.iterdir()}
    subprocess.run(["sh", str(compose_copy / "compose" / "make-secrets.sh")], check=True,  # noqa: S603, S607
                   capture_output=True, timeout=60)
    assert {path.name: path.read_text() for path in secrets.iterdir()} == first  # made once, then kept


def test_it_is_a_configuration_haproxy_accepts(compose_copy):
    haproxy = require_tool("haproxy")
    config = compose_copy / "haproxy.cfg"
    certificate = compose_copy / "compose" / "secrets" / "tls_certificate.pem"
    config.write_text((compose_copy / "compose" / "haproxy.cfg").read_text()
                      .replace("/run/secrets/tls_certificate", str(certificate))
                      .replace("/var/lib/haproxy/admin.sock", str(compose_copy / "admin.sock")))
    result = subprocess.run([haproxy, "-c", "-f", str(config)], capture_output=True, text=True,  # noqa: S603
                            timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr


def test_it_is_a_file_docker_compose_accepts(compose_copy):
    compose = require_tool("docker-compose")
    result = subprocess.run([compose, "--project-directory", str(compose_copy), "-f",  # noqa: S603
                             str(compose_copy / "compose.yaml"), "config", "--quiet"],
                            capture_output=True, text=True, timeout=60, cwd=compose_copy)
    assert result.returncode == 0, result.stdout + result.stderr
