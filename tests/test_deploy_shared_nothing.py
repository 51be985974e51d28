"""deploy/k8s-shared-nothing/ and deploy/compose.shared-nothing.yaml (issue 11, item 7): replicas that share
nothing but PostgreSQL, taking stories only from the API and pull sources: no ReadWriteMany volume, no hot
folder, no push CronJob; every source's secret by reference, from the Secret."""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from wirepub.config import build_config

REPO = Path(__file__).resolve().parents[1]
OVERLAY = REPO / "deploy" / "k8s-shared-nothing"
COMPOSE = REPO / "deploy" / "compose.shared-nothing.yaml"


def rendered() -> list[dict[str, Any]]:
    kubectl, kustomize = shutil.which("kubectl"), shutil.which("kustomize")
    if not (kubectl or kustomize):
        pytest.skip("neither kustomize nor kubectl is installed here")
    command = [kustomize, "build", str(OVERLAY)] if kustomize else [str(kubectl), "kustomize", str(OVERLAY)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return [d for d in yaml.safe_load_all(done.stdout) if d]


def check_config(raw: dict[str, Any], tmp_path: Path) -> None:
    assert "source" not in raw, "no hot folder in the shared-nothing variant"
    config = build_config(raw, base_dir=tmp_path, path=None)
    assert config.sources and all(s.kind in ("api", "superdesk", "wordpress", "sql", "s3") for s in config.sources)
    for s in config.sources:
        for key, value in s.options.items():
            if key.endswith("_env"):
                assert all(v.isupper() for v in ([value] if isinstance(value, str) else value))


def test_the_kubernetes_variant_has_no_shared_volume(tmp_path):
    docs = rendered()
    kinds = {d["kind"] for d in docs}
    assert "PersistentVolumeClaim" not in kinds and "CronJob" not in kinds
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert deployment["spec"]["replicas"] >= 3
    assert all("persistentVolumeClaim" not in v for v in pod["volumes"])
    assert all(m["name"] != "stories" for c in pod["containers"] for m in c.get("volumeMounts", []))
    config = next(d for d in docs if d["kind"] == "ConfigMap")
    raw = tomllib.loads(config["data"]["wirepub.toml"])
    check_config(raw, tmp_path)
    secret = next(d for d in docs if d["kind"] == "Secret")
    named = {v for s in raw["sources"] for k, v in s.items() if k.endswith("_env") and isinstance(v, str)}
    named |= {v for s in raw["sources"] for v in s.get("tokens_env", [])[:1]}
    assert named <= set(secret["stringData"]), named - set(secret["stringData"])


def test_the_compose_variant_runs_three_daemons_on_the_api_alone(tmp_path):
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    wirepub = compose["services"]["wirepub"]
    assert wirepub["deploy"]["replicas"] == 3
    assert all(str(v).endswith(":ro") for v in wirepub["volumes"]), "nothing writable is shared"
    assert "wirepub-state" not in compose.get("volumes", {})
    mounted = next(v for v in wirepub["volumes"] if "wirepub.toml" in v).split(":")[0]
    raw = tomllib.loads((COMPOSE.parent / mounted).read_text(encoding="utf-8"))
    check_config(raw, tmp_path)
    assert "CMS_API_TOKEN" in wirepub["environment"]
