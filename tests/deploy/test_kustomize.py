"""The small kustomize the manifest tests render with (kustomize.py): each feature it has, as kustomize does it
(its output for deploy/kubernetes/ was compared with `kubectl kustomize` 5.5: the same objects), and a refusal for
what it has not."""

from pathlib import Path

import kustomize
import pytest
import yaml

DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"app": "web"}},
    "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
             "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                 "containers": [{"name": "web", "image": "web:1", "envFrom": [{"configMapRef": {"name": "config"}}],
                                 "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
                                {"name": "sidecar", "image": "proxy:2"}],
                 "volumes": [{"name": "keys", "secret": {"secretName": "keys"}}]}}},
}
SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
           "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}
HPA = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "web"},
       "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "maxReplicas": 3}}
CONFIG = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "config"}, "data": {"A": "1"}}


def write(directory: Path, kustomization: dict, **files: list[dict]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    for name, documents in files.items():
        (directory / f"{name}.yaml").write_text(yaml.safe_dump_all(documents))
    return directory


def test_it_merges_patches_strategically(tmp_path):
    patch = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {
        "replicas": 3, "selector": None,
        "template": {"spec": {"containers": [{"name": "web", "env": [{"name": "B", "value": "3"}]}],
                              "volumes": [{"name": "cache", "emptyDir": {}}]}}}}
    (objects,) = kustomize.build(write(tmp_path, {"resources": ["app.yaml"], "patches": [{"path": "patch.yaml"}]},
                                       app=[DEPLOYMENT], patch=[patch]))
    spec = objects["spec"]
    assert spec["replicas"] == 3 and "selector" not in spec
    web, sidecar = spec["template"]["spec"]["containers"]
    assert web["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}]
    assert (web["image"], sidecar["name"]) == ("web:1", "sidecar")
    assert [volume["name"] for volume in spec["template"]["spec"]["volumes"]] == ["keys", "cache"]
    assert DEPLOYMENT["spec"]["replicas"] == 1  # the source is not changed


def test_it_refuses_a_patch_that_matches_nothing(tmp_path):
    patch = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api"}, "spec": {"replicas": 2}}
    directory = write(tmp_path, {"resources": ["app.yaml"], "patches": [{"patch": yaml.safe_dump(patch)}]},
                      app=[DEPLOYMENT])
    with pytest.raises(kustomize.KustomizeError, match="Deployment api matches 0 objects"):
        kustomize.build(directory)


def test_it_renames_and_updates_the_references_to_what_it_renamed(tmp_path):
    objects = kustomize.build(write(tmp_path, {"resources": ["app.yaml"], "namePrefix": "x-", "nameSuffix": "-blue",
                                               "namespace": "docs"}, app=[DEPLOYMENT, HPA, CONFIG]))
    assert [(obj["metadata"]["name"], obj["metadata"]["namespace"]) for obj in objects] == [
        ("x-web-blue", "docs"), ("x-web-blue", "docs"), ("x-config-blue", "docs")]
    deployment, hpa, _ = objects
    assert hpa["spec"]["scaleTargetRef"]["name"] == "x-web-blue"
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["envFrom"] == [{"configMapRef": {"name": "x-config-blue"}}]
    # The Secret is not one of its resources, so its name stays: it is created elsewhere.
    assert deployment["spec"]["template"]["spec"]["volumes"][0]["secret"]["secretName"] == "keys"


def test_it_labels_selectors_only_when_asked(tmp_path):
    objects = kustomize.build(write(tmp_path, {"resources": ["app.yaml"], "labels": [
        {"pairs": {"colour": "blue"}, "includeSelectors": True},
        {"pairs": {"team": "docs"}, "includeTemplates": True},
        {"pairs": {"owner": "ops"}}]}, app=[DEPLOYMENT, SERVICE]))
    deployment, service = objects
    assert deployment["metadata"]["labels"] == {"app": "web", "colour": "blue", "team": "docs", "owner": "ops"}
    assert deployment["spec"]["selector"]["matchLabels"] == {"app": "web", "colour": "blue"}
    assert deployment["spec"]["template"]["metadata"]["labels"] == {"app": "web", "colour": "blue", "team": "docs"}
    assert service["spec"]["selector"] == {"app": "web", "colour": "blue"}


def test_it_sets_images_by_name(tmp_path):
    (deployment,) = kustomize.build(write(tmp_path, {"resources": ["app.yaml"], "images": [
        {"name": "web", "newName": "registry.example.com/web", "newTag": "2.0"},
        {"name": "proxy", "digest": "sha256:" + "a" * 64}]}, app=[DEPLOYMENT]))
    assert [container["image"] for container in deployment["spec"]["template"]["spec"]["containers"]] == [
        "registry.example.com/web:2.0", "proxy@sha256:" + "a" * 64]


def test_it_builds_nested_kustomizations_inside_out(tmp_path):
    write(tmp_path / "base", {"resources": ["app.yaml"], "images": [{"name": "web", "newTag": "1.5"}]},
          app=[DEPLOYMENT])
    write(tmp_path / "overlay", {"resources": ["../base"], "nameSuffix": "-green",
                                 "images": [{"name": "web", "newName": "example.org/web"}]})
    (deployment,) = kustomize.build(tmp_path / "overlay")
    assert deployment["metadata"]["name"] == "web-green"
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "example.org/web:1.5"


@pytest.mark.parametrize("field", ["configMapGenerator", "replicas", "components"])
def test_it_refuses_what_it_does_not_support(tmp_path, field):
    with pytest.raises(kustomize.KustomizeError, match=field):
        kustomize.build(write(tmp_path, {"resources": ["app.yaml"], field: []}, app=[DEPLOYMENT]))


def test_it_refuses_an_object_defined_twice(tmp_path):
    with pytest.raises(kustomize.KustomizeError, match="defined twice"):
        kustomize.build(write(tmp_path, {"resources": ["app.yaml", "again.yaml"]}, app=[DEPLOYMENT],
                              again=[DEPLOYMENT]))


@pytest.mark.parametrize(("image", "parts"), [
    ("web", ("web", None, None)),
    ("host:5000/team/web:1.2", ("host:5000/team/web", "1.2", None)),
    ("host:5000/web@sha256:ab", ("host:5000/web", None, "sha256:ab")),
    ("web:1@sha256:ab", ("web", "1", "sha256:ab")),
])
def test_it_splits_image_references(image, parts):
    assert kustomize.split_image(image) == parts
