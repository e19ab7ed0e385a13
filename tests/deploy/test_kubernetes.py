"""deploy/kubernetes/: the base and every overlay rendered (tests/deploy/kustomize.py), each object valid against
the Kubernetes API schemas kubernetes-validate ships (strict: no unknown fields), and the policy (policy.py)."""

import copy
import functools
from pathlib import Path

import kubernetes_validate
import kustomize
import policy
import pytest
from kubernetes_validate.utils import latest_version

KUBERNETES = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes"
BUILDS = ("base", "overlays/production", "overlays/bluegreen", "overlays/canary")
COLOUR, TRACK = "strongbox/colour", "strongbox/track"


@functools.cache
def _rendered(name: str) -> tuple[dict, ...]:
    return tuple(kustomize.build(KUBERNETES / name))


def rendered(name: str) -> list[dict]:
    """A fresh copy of a build, rendered once per session."""
    return copy.deepcopy(list(_rendered(name)))


def by_name(objects: list[dict], kind: str, name: str) -> dict:
    (found,) = [obj for obj in objects if obj["kind"] == kind and obj["metadata"]["name"] == name]
    return found


def test_it_finds_every_overlay():
    overlays = sorted(path.name for path in (KUBERNETES / "overlays").iterdir() if path.is_dir())
    assert overlays == sorted(build.removeprefix("overlays/") for build in BUILDS if build.startswith("overlays/"))


@pytest.mark.parametrize("build", BUILDS)
def test_it_renders_objects_valid_for_kubernetes(build):
    version = latest_version()
    objects = rendered(build)
    assert objects
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{build}: {obj['kind']} {obj['metadata']['name']} is not valid for Kubernetes {version}: "
                        f"{'.'.join(str(part) for part in error.path)}: {error.message}")


@pytest.mark.parametrize("build", BUILDS)
def test_it_renders_objects_that_keep_the_policy(build):
    assert policy.violations(rendered(build)) == []


@pytest.mark.parametrize("build", BUILDS)
def test_it_embeds_no_secret_and_names_the_ones_it_needs(build):
    objects = rendered(build)
    assert not [obj for obj in objects if obj["kind"] == "Secret"]
    referenced = set()
    for obj in objects:
        pod = kustomize.pod_spec(obj)
        if pod is None:
            continue
        referenced |= {volume["secret"]["secretName"] for volume in pod.get("volumes", []) if "secret" in volume}
        referenced |= {variable["valueFrom"]["secretKeyRef"]["name"] for container in kustomize.containers(obj)
                       for variable in container.get("env", []) if "secretKeyRef" in variable.get("valueFrom", {})}
    assert referenced == {"strongbox", "strongbox-database"}


def test_it_runs_the_app_servers_workers_and_migrations_from_one_image():
    objects = rendered("base")
    commands = {obj["metadata"]["name"]: container["args"] for obj in objects
                for container in kustomize.containers(obj)}
    assert commands == {"strongbox-app": ["serve", "--no-worker", "--host", "0.0.0.0", "--port", "8000"],  # noqa: S104
                        "strongbox-worker": ["worker"], "strongbox-migrate": ["migrate", "--noinput"]}
    assert {container["image"] for obj in objects for container in kustomize.containers(obj)} == {
        "localhost/strongbox:0.1.0"}


def test_it_gives_production_its_namespace_image_and_size():
    objects = rendered("overlays/production")
    assert {obj["metadata"].get("namespace") for obj in objects} == {"strongbox"}
    assert {container["image"] for obj in objects for container in kustomize.containers(obj)} == {
        "registry.example.com/strongbox:0.1.0"}
    assert by_name(objects, "Deployment", "strongbox-app")["spec"]["replicas"] == 3
    hpa = by_name(objects, "HorizontalPodAutoscaler", "strongbox-app")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"], hpa["behavior"]["scaleDown"]["stabilizationWindowSeconds"]) == (
        3, 20, 300)
    # The patch changed one entry of the ConfigMap and kept the others.
    config = by_name(objects, "ConfigMap", "strongbox-config")["data"]
    assert (config["STRONGBOX_LOG_LEVEL"], config["STRONGBOX_ENV"]) == ("WARNING", "production")


def test_it_sends_the_bluegreen_traffic_to_exactly_one_colour():
    objects = rendered("overlays/bluegreen")
    colours = {obj["metadata"]["name"]: obj["spec"]["template"]["metadata"]["labels"][COLOUR]
               for obj in objects if obj["kind"] == "Deployment" and COLOUR in obj["metadata"].get("labels", {})}
    assert colours == {"strongbox-app-blue": "blue", "strongbox-app-green": "green"}
    live = policy.services_selecting(objects, by_name(objects, "Service", "strongbox"))
    preview = policy.services_selecting(objects, by_name(objects, "Service", "strongbox-preview"))
    assert [obj["metadata"]["name"] for obj in live] == ["strongbox-app-blue"]
    assert [obj["metadata"]["name"] for obj in preview] == ["strongbox-app-green"]
    # Each colour selects only its own pods, and scales and is protected on its own.
    for name, colour in colours.items():
        deployment = by_name(objects, "Deployment", name)
        assert deployment["spec"]["selector"]["matchLabels"][COLOUR] == colour
        assert by_name(objects, "HorizontalPodAutoscaler", name)["spec"]["scaleTargetRef"]["name"] == name
        assert by_name(objects, "PodDisruptionBudget", name)["spec"]["selector"]["matchLabels"][COLOUR] == colour
    assert by_name(objects, "Ingress", "strongbox")["spec"]["rules"][0]["http"]["paths"][0]["backend"][
        "service"]["name"] == "strongbox"


def test_it_gives_the_canary_a_small_share_of_the_app_servers():
    objects = rendered("overlays/canary")
    service = by_name(objects, "Service", "strongbox")
    selected = {obj["metadata"]["name"]: obj for obj in policy.services_selecting(objects, service)}
    assert set(selected) == {"strongbox-app-stable", "strongbox-app-canary"}
    stable, canary = selected["strongbox-app-stable"], selected["strongbox-app-canary"]
    assert stable["spec"]["selector"]["matchLabels"][TRACK] == "stable"
    assert canary["spec"]["selector"]["matchLabels"][TRACK] == "canary"
    image = {name: obj["spec"]["template"]["spec"]["containers"][0]["image"] for name, obj in selected.items()}
    assert image == {"strongbox-app-stable": "localhost/strongbox:0.1.0",
                     "strongbox-app-canary": "localhost/strongbox:0.2.0"}
    hpas = {name: by_name(objects, "HorizontalPodAutoscaler", name)["spec"] for name in selected}
    share = hpas["strongbox-app-canary"]["minReplicas"] / sum(hpa["minReplicas"] for hpa in hpas.values())
    assert share <= 0.25
    assert hpas["strongbox-app-canary"]["maxReplicas"] <= hpas["strongbox-app-stable"]["maxReplicas"] / 4
