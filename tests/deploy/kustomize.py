"""A small kustomize: just the features deploy/kubernetes/ uses, so the tests render every overlay without the
kustomize binary. Anything else in a kustomization.yaml is refused, so a manifest cannot quietly outgrow it.

Supported: `resources` (files and directories, recursively), `patches` (strategic merge, from `path` or inline
`patch`: maps merge, a null deletes, lists of maps with a `name` merge by name, other lists are replaced),
`namespace`, `namePrefix`/`nameSuffix` (with the references to renamed objects that kustomize updates: an
autoscaler's target, an Ingress's Service, a pod's ConfigMap and Secret), `labels` (`pairs`, `includeSelectors`,
`includeTemplates`), `commonLabels`, `images` (`newName`, `newTag`, `digest`). Transformers run in kustomize's
order: patches, namespace, prefix/suffix, labels, images.
"""

import copy
from pathlib import Path

import yaml

SUPPORTED = {"apiVersion", "kind", "resources", "patches", "namespace", "namePrefix", "nameSuffix", "labels",
             "commonLabels", "images"}
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PersistentVolume",
                  "StorageClass", "IngressClass", "PriorityClass"}


class KustomizeError(Exception):
    """A kustomization this renderer does not understand or that does not build."""


def build(directory: Path) -> list[dict]:
    """Return the objects `kustomize build directory` would print (in resource order, not kustomize's sort)."""
    directory = Path(directory)
    path = directory / "kustomization.yaml"
    if not path.is_file():
        raise KustomizeError(f"{directory} has no kustomization.yaml")
    kustomization = yaml.safe_load(path.read_text()) or {}
    unknown = set(kustomization) - SUPPORTED
    if unknown:
        raise KustomizeError(f"{path}: unsupported fields {sorted(unknown)}")
    objects = []
    for entry in kustomization.get("resources", []):
        target = directory / entry
        objects += build(target) if target.is_dir() else load(target)
    _check_unique(objects, path)
    for patch in kustomization.get("patches", []):
        _apply_patches(objects, _patch_documents(directory, patch), path)
    if "namespace" in kustomization:
        for obj in objects:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj["metadata"]["namespace"] = kustomization["namespace"]
    _rename(objects, kustomization.get("namePrefix", ""), kustomization.get("nameSuffix", ""))
    if "commonLabels" in kustomization:
        _label(objects, kustomization["commonLabels"], selectors=True, templates=True)
    for entry in kustomization.get("labels", []):
        selectors = entry.get("includeSelectors", False)
        templates = selectors or entry.get("includeTemplates", False)
        _label(objects, entry["pairs"], selectors=selectors, templates=templates)
    for image in kustomization.get("images", []):
        _set_image(objects, image)
    return objects


def load(path: Path) -> list[dict]:
    """The non-empty YAML documents of a file, each a Kubernetes object."""
    documents = [document for document in yaml.safe_load_all(Path(path).read_text()) if document]
    for document in documents:
        if not {"apiVersion", "kind", "metadata"} <= set(document):
            raise KustomizeError(f"{path}: a document without apiVersion, kind and metadata")
    return documents


def key(obj: dict) -> tuple[str, str, str]:
    return obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"]


def _check_unique(objects: list[dict], path: Path) -> None:
    seen = set()
    for obj in objects:
        if key(obj) in seen:
            raise KustomizeError(f"{path}: {key(obj)} is defined twice")
        seen.add(key(obj))


def _patch_documents(directory: Path, patch: dict) -> list[dict]:
    if set(patch) - {"path", "patch"}:
        raise KustomizeError(f"patch options {sorted(set(patch) - {'path', 'patch'})} are not supported")
    if "path" in patch:
        return load(directory / patch["path"])
    return [document for document in yaml.safe_load_all(patch["patch"]) if document]


def _apply_patches(objects: list[dict], patches: list[dict], path: Path) -> None:
    # Patches run before this kustomization's own renaming, so they name objects as its resources define them.
    for patch in patches:
        name = patch["metadata"]["name"]
        targets = [obj for obj in objects if obj["kind"] == patch["kind"] and obj["metadata"]["name"] == name]
        if len(targets) != 1:
            raise KustomizeError(f"{path}: the patch of {patch['kind']} {name} matches {len(targets)} objects")
        merged = merge(targets[0], {k: v for k, v in patch.items() if k not in ("apiVersion", "kind")})
        targets[0].clear()
        targets[0].update(merged)


def merge(base, patch):
    """A strategic merge patch, simplified: see the module's docstring."""
    if isinstance(base, dict) and isinstance(patch, dict):
        result = copy.deepcopy(base)
        for name, value in patch.items():
            if value is None:
                result.pop(name, None)
            elif name in result:
                result[name] = merge(result[name], value)
            else:
                result[name] = copy.deepcopy(value)
        return result
    if isinstance(base, list) and isinstance(patch, list) and _named(base) and _named(patch):
        result = copy.deepcopy(base)
        for item in patch:
            match = next((index for index, old in enumerate(result) if old["name"] == item["name"]), None)
            if match is None:
                result.append(copy.deepcopy(item))
            else:
                result[match] = merge(result[match], item)
        return result
    return copy.deepcopy(patch)


def _named(items: list) -> bool:
    return bool(items) and all(isinstance(item, dict) and "name" in item for item in items)


def _rename(objects: list[dict], prefix: str, suffix: str) -> None:
    if not prefix and not suffix:
        return
    renamed = {}
    for obj in objects:
        if obj["kind"] in CLUSTER_SCOPED | {"CustomResourceDefinition"}:
            continue
        old = obj["metadata"]["name"]
        obj["metadata"]["name"] = f"{prefix}{old}{suffix}"
        renamed[(obj["kind"], old)] = obj["metadata"]["name"]
    for obj in objects:
        _rename_references(obj, renamed)


def _rename_references(obj: dict, renamed: dict) -> None:
    def new(kind: str, name: str) -> str:
        return renamed.get((kind, name), name)

    spec = obj.get("spec", {})
    if obj["kind"] == "HorizontalPodAutoscaler":
        target = spec["scaleTargetRef"]
        target["name"] = new(target["kind"], target["name"])
    if obj["kind"] == "Ingress":
        for rule in spec.get("rules", []):
            for path in rule.get("http", {}).get("paths", []):
                service = path["backend"].get("service")
                if service:
                    service["name"] = new("Service", service["name"])
    pod = pod_spec(obj)
    if pod is None:
        return
    for volume in pod.get("volumes", []):
        if "configMap" in volume:
            volume["configMap"]["name"] = new("ConfigMap", volume["configMap"]["name"])
        if "secret" in volume:
            volume["secret"]["secretName"] = new("Secret", volume["secret"]["secretName"])
    for container in containers(obj):
        for source in container.get("envFrom", []):
            for field, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
                if field in source:
                    source[field]["name"] = new(kind, source[field]["name"])
        for variable in container.get("env", []):
            reference = variable.get("valueFrom", {})
            for field, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
                if field in reference:
                    reference[field]["name"] = new(kind, reference[field]["name"])


def _label(objects: list[dict], pairs: dict, *, selectors: bool, templates: bool) -> None:
    for obj in objects:
        obj["metadata"].setdefault("labels", {}).update(pairs)
        spec = obj.get("spec", {})
        if templates and obj["kind"] in WORKLOADS:
            spec["template"].setdefault("metadata", {}).setdefault("labels", {}).update(pairs)
        if not selectors:
            continue
        if obj["kind"] in WORKLOADS - {"Job"} or obj["kind"] == "PodDisruptionBudget":
            spec.setdefault("selector", {}).setdefault("matchLabels", {}).update(pairs)
        if obj["kind"] == "Service":
            spec.setdefault("selector", {}).update(pairs)
        if obj["kind"] in WORKLOADS:
            for constraint in spec["template"]["spec"].get("topologySpreadConstraints", []):
                constraint.setdefault("labelSelector", {}).setdefault("matchLabels", {}).update(pairs)


def pod_spec(obj: dict) -> dict | None:
    """The pod template's spec of a workload (CronJob included), or None."""
    if obj["kind"] in WORKLOADS:
        return obj["spec"]["template"]["spec"]
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    if obj["kind"] == "Pod":
        return obj["spec"]
    return None


def containers(obj: dict) -> list[dict]:
    """Every container (init containers included) of a workload; none for other kinds."""
    pod = pod_spec(obj)
    return [] if pod is None else pod.get("initContainers", []) + pod.get("containers", [])


def split_image(image: str) -> tuple[str, str | None, str | None]:
    """name, tag, digest of an image reference ("host:5000/a/b:1.2@sha256:…")."""
    name, _, digest = image.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    tag = None
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
    return name, tag, digest or None


def _set_image(objects: list[dict], image: dict) -> None:
    if set(image) - {"name", "newName", "newTag", "digest"}:
        raise KustomizeError(f"image options {sorted(image)} are not supported")
    for obj in objects:
        for container in containers(obj):
            name, tag, digest = split_image(container["image"])
            if name != image["name"]:
                continue
            name = image.get("newName", name)
            if "digest" in image:
                container["image"] = f"{name}@{image['digest']}"
                continue
            if "newTag" in image:
                tag, digest = str(image["newTag"]), None
            container["image"] = name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
