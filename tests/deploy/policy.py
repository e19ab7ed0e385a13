"""What every rendered Kubernetes manifest set of deploy/kubernetes/ must satisfy. Each check is a pure function
from the objects (as kustomize.build returns them) to a list of violations, one line each naming the object;
`violations` runs them all. Each has a unit test of its own on a manifest that breaks it (test_policy.py).
"""

import re

from kustomize import containers, pod_spec, split_image

APP_COMPONENT = "app"
COMPONENT = "app.kubernetes.io/component"
READINESS_PATH, LIVENESS_PATH = "/readyz", "/healthz"
# Names of variables that hold a secret; their `_FILE` variants hold a path and are fine.
SECRET_NAME = re.compile(r"PASSWORD|SECRET|KEY|TOKEN", re.IGNORECASE)
# granian's kill timeout: a request still running this long after the drain is cut off (ops/serve.py).
APP_SERVER_STOP_SECONDS = 20


def _name(obj: dict) -> str:
    return f"{obj['kind']} {obj['metadata']['name']}"


def _workloads(objects: list[dict]) -> list[dict]:
    return [obj for obj in objects if pod_spec(obj) is not None]


def _deployments(objects: list[dict]) -> list[dict]:
    return [obj for obj in objects if obj["kind"] == "Deployment"]


def _app_deployments(objects: list[dict]) -> list[dict]:
    return [obj for obj in _deployments(objects)
            if obj["spec"]["template"]["metadata"].get("labels", {}).get(COMPONENT) == APP_COMPONENT]


def _template_labels(obj: dict) -> dict:
    return obj["spec"]["template"].get("metadata", {}).get("labels", {})


def _selects(selector: dict | None, labels: dict) -> bool:
    """Whether a label selector (matchLabels only; matchExpressions count as not understood) selects `labels`."""
    if not selector or selector.get("matchExpressions"):
        return False
    return all(labels.get(name) == value for name, value in selector.get("matchLabels", {}).items())


def _same_namespace(a: dict, b: dict) -> bool:
    return a["metadata"].get("namespace", "") == b["metadata"].get("namespace", "")


def _security_context(obj: dict, container: dict, field: str):
    """A container's setting, falling back to the pod's (as Kubernetes does for the fields both have)."""
    own = container.get("securityContext", {})
    return own[field] if field in own else pod_spec(obj).get("securityContext", {}).get(field)


def non_root(objects: list[dict]) -> list[str]:
    found = []
    for obj in _workloads(objects):
        for container in containers(obj):
            if _security_context(obj, container, "runAsNonRoot") is not True:
                found.append(f"{_name(obj)}: container {container['name']} does not set runAsNonRoot: true")
            if _security_context(obj, container, "runAsUser") == 0:
                found.append(f"{_name(obj)}: container {container['name']} runs as uid 0")
        if pod_spec(obj).get("securityContext", {}).get("seccompProfile", {}).get("type") != "RuntimeDefault":
            found.append(f"{_name(obj)}: the pod's seccompProfile is not RuntimeDefault")
    return found


def no_privilege_escalation(objects: list[dict]) -> list[str]:
    found = []
    for obj in _workloads(objects):
        for container in containers(obj):
            context = container.get("securityContext", {})
            if context.get("allowPrivilegeEscalation") is not False:
                found.append(f"{_name(obj)}: container {container['name']} does not set allowPrivilegeEscalation: "
                             "false")
            if context.get("privileged"):
                found.append(f"{_name(obj)}: container {container['name']} is privileged")
            if "ALL" not in context.get("capabilities", {}).get("drop", []):
                found.append(f"{_name(obj)}: container {container['name']} does not drop ALL capabilities")
            if context.get("capabilities", {}).get("add"):
                found.append(f"{_name(obj)}: container {container['name']} adds capabilities")
    return found


def read_only_root(objects: list[dict]) -> list[str]:
    return [f"{_name(obj)}: container {container['name']} does not set readOnlyRootFilesystem: true"
            for obj in _workloads(objects) for container in containers(obj)
            if container.get("securityContext", {}).get("readOnlyRootFilesystem") is not True]


def resources_set(objects: list[dict]) -> list[str]:
    found = []
    for obj in _workloads(objects):
        for container in containers(obj):
            resources = container.get("resources", {})
            for kind in ("requests", "limits"):
                missing = [name for name in ("cpu", "memory") if name not in resources.get(kind, {})]
                if missing:
                    found.append(f"{_name(obj)}: container {container['name']} has no {kind} for "
                                 f"{' and '.join(missing)}")
    return found


def _http_path(probe: dict | None) -> str | None:
    return (probe or {}).get("httpGet", {}).get("path")


def app_probes(objects: list[dict]) -> list[str]:
    """The app servers: readiness on /readyz, liveness on /healthz, and a startup probe."""
    found = []
    for obj in _app_deployments(objects):
        for container in obj["spec"]["template"]["spec"]["containers"]:
            where = f"{_name(obj)}: container {container['name']}"
            if _http_path(container.get("readinessProbe")) != READINESS_PATH:
                found.append(f"{where} has no readinessProbe on {READINESS_PATH}")
            if _http_path(container.get("livenessProbe")) != LIVENESS_PATH:
                found.append(f"{where} has no livenessProbe on {LIVENESS_PATH}")
            if not container.get("startupProbe"):
                found.append(f"{where} has no startupProbe")
    return found


def _config_value(objects: list[dict], obj: dict, container: dict, name: str) -> str | None:
    """A variable's value in a container: its own env, else a ConfigMap it takes whole (envFrom)."""
    for variable in container.get("env", []):
        if variable["name"] == name and "value" in variable:
            return variable["value"]
    for source in container.get("envFrom", []):
        reference = source.get("configMapRef", {}).get("name")
        for config in objects:
            if config["kind"] == "ConfigMap" and config["metadata"]["name"] == reference and _same_namespace(
                    config, obj) and name in config.get("data", {}):
                return config["data"][name]
    return None


def _pre_stop_seconds(container: dict) -> int:
    pre_stop = container.get("lifecycle", {}).get("preStop", {})
    if "sleep" in pre_stop:
        return int(pre_stop["sleep"]["seconds"])
    command = pre_stop.get("exec", {}).get("command", [])
    return int(command[1]) if len(command) == 2 and command[0] == "sleep" else 0


def graceful_stop(objects: list[dict]) -> list[str]:
    """The app servers' grace period outlasts the preStop wait, the drain and granian's stop."""
    found = []
    for obj in _app_deployments(objects):
        grace = obj["spec"]["template"]["spec"].get("terminationGracePeriodSeconds", 30)
        for container in obj["spec"]["template"]["spec"]["containers"]:
            drain = int(_config_value(objects, obj, container, "STRONGBOX_DRAIN_SECONDS") or 3)
            needed = _pre_stop_seconds(container) + drain + APP_SERVER_STOP_SECONDS
            if grace <= needed:
                found.append(f"{_name(obj)}: terminationGracePeriodSeconds {grace} is not longer than preStop + "
                             f"STRONGBOX_DRAIN_SECONDS + {APP_SERVER_STOP_SECONDS} s = {needed}")
            if not _pre_stop_seconds(container):
                found.append(f"{_name(obj)}: container {container['name']} has no preStop wait")
    return found


def pinned_images(objects: list[dict]) -> list[str]:
    found = []
    for obj in _workloads(objects):
        for container in containers(obj):
            _, tag, digest = split_image(container["image"])
            if not digest and (tag is None or tag == "latest"):
                found.append(f"{_name(obj)}: container {container['name']} runs {container['image']!r}, which "
                             "is (or defaults to) :latest")
    return found


def _secret_named(name: str) -> bool:
    return bool(SECRET_NAME.search(name)) and not name.upper().endswith("_FILE")


def no_embedded_secrets(objects: list[dict]) -> list[str]:
    """Secrets are referenced by name, never carried: no Secret with data, no secret-looking variable (or
    ConfigMap entry) with a literal value."""
    found = []
    for obj in objects:
        if obj["kind"] == "Secret" and (obj.get("data") or obj.get("stringData")):
            found.append(f"{_name(obj)} embeds secret values (data/stringData)")
        if obj["kind"] == "ConfigMap":
            found += [f"{_name(obj)}: {name} looks like a secret in a ConfigMap"
                      for name in obj.get("data", {}) if _secret_named(name)]
        for container in containers(obj):
            found += [f"{_name(obj)}: container {container['name']} sets {variable['name']} to a literal value"
                      for variable in container.get("env", []) if "value" in variable and
                      _secret_named(variable["name"])]
    return found


def disruption_budgets(objects: list[dict]) -> list[str]:
    budgets = [obj for obj in objects if obj["kind"] == "PodDisruptionBudget"]
    found = [f"{_name(budget)} allows no protection (minAvailable 0)"
             for budget in budgets if budget["spec"].get("minAvailable") in (0, "0", "0%")]
    for deployment in _deployments(objects):
        covering = [budget for budget in budgets if _same_namespace(budget, deployment) and
                    _selects(budget["spec"].get("selector"), _template_labels(deployment))]
        if not covering:
            found.append(f"{_name(deployment)} is covered by no PodDisruptionBudget")
        elif len(covering) > 1:
            found.append(f"{_name(deployment)} is covered by several PodDisruptionBudgets "
                         f"({', '.join(_name(budget) for budget in covering)}); eviction refuses such pods")
    return found


def autoscalers(objects: list[dict]) -> list[str]:
    """Every app Deployment has exactly one autoscaler; every autoscaler's target exists."""
    hpas = [obj for obj in objects if obj["kind"] == "HorizontalPodAutoscaler"]
    found = []
    for hpa in hpas:
        target = hpa["spec"]["scaleTargetRef"]
        if not any(obj["kind"] == target["kind"] and obj["metadata"]["name"] == target["name"] and
                   _same_namespace(obj, hpa) for obj in objects):
            found.append(f"{_name(hpa)} scales {target['kind']} {target['name']}, which does not exist")
        if hpa["spec"].get("behavior", {}).get("scaleDown", {}).get("stabilizationWindowSeconds", 0) < 300:
            found.append(f"{_name(hpa)} scales down with a stabilization window under 300 s")
    for deployment in _app_deployments(objects):
        count = sum(1 for hpa in hpas if hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment" and
                    hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"] and
                    _same_namespace(hpa, deployment))
        if count != 1:
            found.append(f"{_name(deployment)} is scaled by {count} HorizontalPodAutoscalers, not 1")
    return found


def network_policies(objects: list[dict]) -> list[str]:
    """Every pod is selected by a NetworkPolicy that restricts its ingress and one that restricts its egress."""
    policies = [obj for obj in objects if obj["kind"] == "NetworkPolicy"]
    if not policies:
        return ["there is no NetworkPolicy"]
    found = []
    for obj in _workloads(objects):
        labels = _template_labels(obj)
        for direction in ("Ingress", "Egress"):
            if not any(_same_namespace(policy, obj) and direction in policy["spec"].get("policyTypes", []) and
                       (policy["spec"]["podSelector"] == {} or _selects(policy["spec"]["podSelector"], labels))
                       for policy in policies):
                found.append(f"{_name(obj)}: no NetworkPolicy restricts its {direction.lower()}")
    return found


CHECKS = (non_root, no_privilege_escalation, read_only_root, resources_set, app_probes, graceful_stop,
          pinned_images, no_embedded_secrets, disruption_budgets, autoscalers, network_policies)


def violations(objects: list[dict]) -> list[str]:
    """Every check's violations."""
    return [violation for check in CHECKS for violation in check(objects)]


def services_selecting(objects: list[dict], service: dict) -> list[dict]:
    """The Deployments whose pods a Service selects."""
    selector = service["spec"].get("selector") or {}
    return [obj for obj in _deployments(objects) if selector and _same_namespace(obj, service) and
            all(_template_labels(obj).get(name) == value for name, value in selector.items())]
