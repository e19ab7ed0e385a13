"""Each policy check (policy.py) passes the base as rendered and catches a manifest that breaks it."""

import copy
from pathlib import Path

import kustomize
import policy
import pytest

BASE = kustomize.build(Path(__file__).resolve().parents[2] / "deploy" / "kubernetes" / "base")


@pytest.fixture
def objects() -> list[dict]:
    return copy.deepcopy(BASE)


def find(objects: list[dict], kind: str, name: str) -> dict:
    (found,) = [obj for obj in objects if obj["kind"] == kind and obj["metadata"]["name"] == name]
    return found


def app_container(objects: list[dict]) -> dict:
    return find(objects, "Deployment", "strongbox-app")["spec"]["template"]["spec"]["containers"][0]


@pytest.mark.parametrize("check", policy.CHECKS, ids=lambda check: check.__name__)
def test_it_passes_the_base(objects, check):
    assert check(objects) == []


def test_it_refuses_a_container_that_may_run_as_root(objects):
    del find(objects, "Job", "strongbox-migrate")["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"]
    del find(objects, "Job", "strongbox-migrate")["spec"]["template"]["spec"]["containers"][0]["securityContext"][
        "runAsNonRoot"]
    app_container(objects)["securityContext"]["runAsUser"] = 0
    assert sorted(policy.non_root(objects)) == [
        "Deployment strongbox-app: container app runs as uid 0",
        "Job strongbox-migrate: container migrate does not set runAsNonRoot: true",
    ]


def test_it_refuses_a_pod_without_the_default_seccomp_profile(objects):
    del find(objects, "Deployment", "strongbox-worker")["spec"]["template"]["spec"]["securityContext"][
        "seccompProfile"]
    assert policy.non_root(objects) == ["Deployment strongbox-worker: the pod's seccompProfile is not RuntimeDefault"]


def test_it_refuses_privilege_escalation_and_capabilities(objects):
    context = app_container(objects)["securityContext"]
    del context["allowPrivilegeEscalation"]
    context["capabilities"] = {"drop": ["NET_RAW"], "add": ["NET_ADMIN"]}
    context["privileged"] = True
    assert policy.no_privilege_escalation(objects) == [
        "Deployment strongbox-app: container app does not set allowPrivilegeEscalation: false",
        "Deployment strongbox-app: container app is privileged",
        "Deployment strongbox-app: container app does not drop ALL capabilities",
        "Deployment strongbox-app: container app adds capabilities",
    ]


def test_it_refuses_a_writable_root_filesystem(objects):
    app_container(objects)["securityContext"]["readOnlyRootFilesystem"] = False
    assert policy.read_only_root(objects) == [
        "Deployment strongbox-app: container app does not set readOnlyRootFilesystem: true"]


def test_it_refuses_a_container_without_requests_or_limits(objects):
    del app_container(objects)["resources"]["limits"]["memory"]
    del find(objects, "Deployment", "strongbox-worker")["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert sorted(policy.resources_set(objects)) == [
        "Deployment strongbox-app: container app has no limits for memory",
        "Deployment strongbox-worker: container worker has no limits for cpu and memory",
        "Deployment strongbox-worker: container worker has no requests for cpu and memory",
    ]


def test_it_refuses_app_servers_probed_in_the_wrong_places(objects):
    container = app_container(objects)
    container["readinessProbe"]["httpGet"]["path"] = "/healthz"
    container["livenessProbe"] = {"tcpSocket": {"port": "http"}}
    del container["startupProbe"]
    assert policy.app_probes(objects) == [
        "Deployment strongbox-app: container app has no readinessProbe on /readyz",
        "Deployment strongbox-app: container app has no livenessProbe on /healthz",
        "Deployment strongbox-app: container app has no startupProbe",
    ]


def test_it_refuses_a_grace_period_shorter_than_the_drain(objects):
    find(objects, "ConfigMap", "strongbox-config")["data"]["STRONGBOX_DRAIN_SECONDS"] = "40"
    assert policy.graceful_stop(objects) == [
        "Deployment strongbox-app: terminationGracePeriodSeconds 60 is not longer than preStop + "
        "STRONGBOX_DRAIN_SECONDS + 20 s = 65"]


def test_it_refuses_app_servers_without_a_pre_stop_wait(objects):
    del app_container(objects)["lifecycle"]
    assert policy.graceful_stop(objects) == ["Deployment strongbox-app: container app has no preStop wait"]


@pytest.mark.parametrize("image", ["localhost/strongbox", "localhost/strongbox:latest", "host:5000/strongbox"])
def test_it_refuses_latest_images(objects, image):
    app_container(objects)["image"] = image
    assert policy.pinned_images(objects) == [
        f"Deployment strongbox-app: container app runs {image!r}, which is (or defaults to) :latest"]


@pytest.mark.parametrize("image", ["host:5000/strongbox:1.2", "strongbox@sha256:" + "0" * 64])
def test_it_accepts_tagged_and_digest_images(objects, image):
    app_container(objects)["image"] = image
    assert policy.pinned_images(objects) == []


def test_it_refuses_an_embedded_secret(objects):
    objects.append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "strongbox"},
                    "stringData": {"secret-key": "x" * 50}})
    assert policy.no_embedded_secrets(objects) == ["Secret strongbox embeds secret values (data/stringData)"]


def test_it_accepts_a_secret_without_values(objects):
    objects.append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "strongbox"}, "type": "Opaque"})
    assert policy.no_embedded_secrets(objects) == []


@pytest.mark.parametrize("name", ["PGPASSWORD", "STRONGBOX_SECRET_KEY", "API_TOKEN", "STRONGBOX_S3_ACCESS_KEY_ID"])
def test_it_refuses_a_secret_variable_with_a_literal_value(objects, name):
    app_container(objects)["env"].append({"name": name, "value": "hunter2"})
    find(objects, "ConfigMap", "strongbox-config")["data"][name] = "hunter2"
    assert policy.no_embedded_secrets(objects) == [
        f"ConfigMap strongbox-config: {name} looks like a secret in a ConfigMap",
        f"Deployment strongbox-app: container app sets {name} to a literal value",
    ]


def test_it_accepts_secret_file_paths_and_references(objects):
    container = app_container(objects)
    assert {"name": "PGPASSWORD", "valueFrom": {"secretKeyRef": {"name": "strongbox-database", "key": "password"}}
            } in container["env"]
    container["env"].append({"name": "STRONGBOX_SECRET_KEY_FILE", "value": "/run/secrets/strongbox/secret-key"})
    assert policy.no_embedded_secrets(objects) == []


def test_it_refuses_a_deployment_without_a_disruption_budget(objects):
    objects.remove(find(objects, "PodDisruptionBudget", "strongbox-worker"))
    assert policy.disruption_budgets(objects) == [
        "Deployment strongbox-worker is covered by no PodDisruptionBudget"]


def test_it_refuses_budgets_that_protect_nothing_or_overlap(objects):
    extra = copy.deepcopy(find(objects, "PodDisruptionBudget", "strongbox-app"))
    extra["metadata"]["name"] = "strongbox-everything"
    extra["spec"] = {"minAvailable": 0, "selector": {"matchLabels": {"app.kubernetes.io/name": "strongbox"}}}
    objects.append(extra)
    assert sorted(policy.disruption_budgets(objects)) == [
        "Deployment strongbox-app is covered by several PodDisruptionBudgets (PodDisruptionBudget strongbox-app, "
        "PodDisruptionBudget strongbox-everything); eviction refuses such pods",
        "Deployment strongbox-worker is covered by several PodDisruptionBudgets (PodDisruptionBudget "
        "strongbox-worker, PodDisruptionBudget strongbox-everything); eviction refuses such pods",
        "PodDisruptionBudget strongbox-everything allows no protection (minAvailable 0)",
    ]


def test_it_refuses_app_servers_without_an_autoscaler(objects):
    objects.remove(find(objects, "HorizontalPodAutoscaler", "strongbox-app"))
    assert policy.autoscalers(objects) == [
        "Deployment strongbox-app is scaled by 0 HorizontalPodAutoscalers, not 1"]


def test_it_refuses_an_autoscaler_aimed_elsewhere_or_quick_to_scale_down(objects):
    hpa = find(objects, "HorizontalPodAutoscaler", "strongbox-app")
    hpa["spec"]["scaleTargetRef"]["name"] = "strongbox-app-canary"
    hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] = 60
    assert policy.autoscalers(objects) == [
        "HorizontalPodAutoscaler strongbox-app scales Deployment strongbox-app-canary, which does not exist",
        "HorizontalPodAutoscaler strongbox-app scales down with a stabilization window under 300 s",
        "Deployment strongbox-app is scaled by 0 HorizontalPodAutoscalers, not 1",
    ]


def test_it_refuses_manifests_without_network_policies(objects):
    for obj in [obj for obj in objects if obj["kind"] == "NetworkPolicy"]:
        objects.remove(obj)
    assert policy.network_policies(objects) == ["there is no NetworkPolicy"]


def test_it_refuses_pods_no_network_policy_selects(objects):
    find(objects, "NetworkPolicy", "strongbox")["spec"]["podSelector"] = {
        "matchLabels": {"app.kubernetes.io/component": "app"}}
    assert policy.network_policies(objects) == [
        "Deployment strongbox-worker: no NetworkPolicy restricts its egress",
        "Job strongbox-migrate: no NetworkPolicy restricts its ingress",
        "Job strongbox-migrate: no NetworkPolicy restricts its egress",
    ]


def test_it_reports_every_check_at_once(objects):
    app_container(objects)["image"] = "strongbox:latest"
    objects.remove(find(objects, "PodDisruptionBudget", "strongbox-worker"))
    assert len(policy.violations(objects)) == 2
