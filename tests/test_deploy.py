"""deploy/: the systemd units, the container image, the Kubernetes manifests and the compose trial.

Nothing here starts a container or a cluster. Each file is parsed and checked for what matters to the
daemon's contract (`wirepub run`: /healthz on [daemon] listen, a graceful SIGTERM within shutdown_grace,
the store URL and every secret from the environment); where this machine has the tool, the real one
checks too: `systemd-analyze verify` and `systemd-analyze security --offline` for the units,
`kubectl kustomize` for the manifests.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

from wirepub.web import is_loopback

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
SYSTEMD = DEPLOY / "systemd"
CONTAINER = DEPLOY / "container"
CONTAINERFILE = CONTAINER / "Containerfile"
COMPOSE = DEPLOY / "compose.yaml"
SCHEMA = json.loads((REPO / "schemas" / "config.schema.json").read_text(encoding="utf-8"))
SECRET_WORDS = re.compile(r"PASSWORD|PASSPHRASE|SECRET|TOKEN|CREDENTIAL", re.IGNORECASE)  # not key *ids*
URL_WITH_PASSWORD = re.compile(r"://[^/@\s:]+:[^/@\s]+@")
PLACEHOLDER = "change-me"
DEFAULT_SHUTDOWN_GRACE = 30.0


# ---- helpers ------------------------------------------------------------------------------------------

def yaml_docs(path: Path) -> list[dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
    for doc in docs:
        assert isinstance(doc, dict), f"{path}: every YAML document should be a mapping"
    return docs


def k8s_objects() -> dict[str, dict[str, Any]]:
    """Every manifest in deploy/k8s by kind (one object of each kind there)."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in yaml_docs(path):
            assert doc["kind"] not in found, f"two {doc['kind']} manifests; these tests expect one of each"
            found[doc["kind"]] = doc
    return found


def k8s_config() -> dict[str, Any]:
    data = k8s_objects()["ConfigMap"]["data"]
    return tomllib.loads(data["wirepub.toml"])


def listen_of(config: dict[str, Any]) -> tuple[str, int]:
    host, _, port = config.get("daemon", {}).get("listen", "127.0.0.1:8787").rpartition(":")
    return host.strip("[]"), int(port)


def shutdown_grace_of(config: dict[str, Any]) -> float:
    return float(config.get("daemon", {}).get("shutdown_grace", DEFAULT_SHUTDOWN_GRACE))


def pod_spec(kind: str) -> dict[str, Any]:
    obj = k8s_objects()[kind]
    if kind == "CronJob":
        spec: dict[str, Any] = obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        return spec
    spec = obj["spec"]["template"]["spec"]
    return spec


def wirepub_container(spec: dict[str, Any]) -> dict[str, Any]:
    (container,) = [c for c in spec["containers"] if c["name"] == "wirepub"]
    return container


def seconds(value: str | int | float) -> float:
    """A duration as systemd or compose write it: 45, "45s", "1min 30s", "1m30s", "2h"."""
    if isinstance(value, int | float):
        return float(value)
    units = {"ms": 0.001, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600}
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", value.strip())
    assert parts, f"not a duration: {value!r}"
    return sum(float(n) * units[u or "s"] for n, u in parts)


def unit_file(path: Path) -> dict[str, list[tuple[str, str]]]:
    """A systemd unit as {section: [(key, value), ...]}: keys may repeat, so not configparser."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        assert current is not None, f"{path}: {line!r} before any section"
        key, sep, value = line.partition("=")
        assert sep, f"{path}: not key=value: {line!r}"
        current.append((key.strip(), value.strip()))
    return sections


def last(unit: dict[str, list[tuple[str, str]]], section: str, key: str) -> str | None:
    values = [v for k, v in unit.get(section, []) if k == key]
    return values[-1] if values else None


def every(unit: dict[str, list[tuple[str, str]]], section: str, key: str) -> list[str]:
    return [v for k, v in unit.get(section, []) if k == key]


def containerfile_instructions(path: Path = CONTAINERFILE) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and not pending):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        word, _, rest = line.partition(" ")
        instructions.append((word.upper(), rest.strip()))
    assert not pending, f"{path} ends in a continuation line"
    return instructions


def args_of(instruction: tuple[str, str]) -> list[str]:
    """An instruction's arguments: the JSON (exec) form, or words of the shell form."""
    text = instruction[1]
    if text.startswith("["):
        parsed = json.loads(text)
        assert isinstance(parsed, list)
        return [str(p) for p in parsed]
    return shlex.split(text)


def healthz_port(url: str) -> int:
    parts = urlsplit(url)
    assert parts.path == "/healthz", f"{url} is not /healthz"
    assert parts.port is not None, f"{url} names no port"
    return parts.port


# ---- every file -------------------------------------------------------------------------------------------

def test_the_deploy_folder_holds_each_kind_of_deployment() -> None:
    for path in (SYSTEMD / "wirepub.service", SYSTEMD / "wirepub-push.service", SYSTEMD / "wirepub-push.timer",
                 SYSTEMD / "wirepub.sysusers", SYSTEMD / "wirepub.toml", CONTAINERFILE, CONTAINER / "wirepub.toml",
                 COMPOSE, DEPLOY / "compose.wirepub.toml", K8S / "kustomization.yaml", DEPLOY / "README.md"):
        assert path.is_file(), f"{path.relative_to(REPO)} is missing"
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    for name in ("systemd/", "container/", "k8s/", "compose.yaml"):
        assert name in readme, f"deploy/README.md does not say how to use {name}"


@pytest.mark.parametrize("path", sorted(DEPLOY.rglob("*.yaml")), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_every_yaml_file_parses(path: Path) -> None:
    assert yaml_docs(path), f"{path} holds no document"


def _configs() -> Iterator[tuple[str, dict[str, Any]]]:
    yield "k8s/configmap.yaml", k8s_config()
    for path in (CONTAINER / "wirepub.toml", SYSTEMD / "wirepub.toml", DEPLOY / "compose.wirepub.toml"):
        yield str(path.relative_to(DEPLOY)), tomllib.loads(path.read_text(encoding="utf-8"))


CONFIGS = dict(_configs())
SCHEMA_HAS_DAEMON = "daemon" in SCHEMA.get("properties", {})


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_example_configs_are_valid_apart_from_the_daemon_table(name: str) -> None:
    config = {k: v for k, v in CONFIGS[name].items() if k != "daemon"}
    errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
              for e in jsonschema.Draft202012Validator(SCHEMA).iter_errors(config)]
    assert not errors, f"deploy/{name}: {errors}"


@pytest.mark.xfail(not SCHEMA_HAS_DAEMON, reason="daemon keys not in schema yet", strict=False)
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_example_configs_are_valid_with_their_daemon_table(name: str) -> None:
    errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
              for e in jsonschema.Draft202012Validator(SCHEMA).iter_errors(CONFIGS[name])]
    assert not errors, f"deploy/{name}: {errors}"


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_example_configs_use_absolute_paths_and_hold_no_secret(name: str) -> None:
    # Relative paths resolve against the configuration's folder, which is read-only in every deployment.
    config = CONFIGS[name]
    assert PurePosixPath(config["source"]["path"]).is_absolute(), f"deploy/{name}: source.path is relative"
    url = config.get("store", {}).get("url")
    if url is not None:
        assert url.startswith("sqlite:////"), f"deploy/{name}: store.url in the file is a local SQLite one, " \
                                              "absolute; a database with a password comes from WIREPUB_STORE_URL"
    for partner in config.get("partners", []):
        for dest in partner["destinations"]:
            dest_url = dest if isinstance(dest, str) else dest["url"]
            if "://" not in dest_url:
                assert PurePosixPath(dest_url).is_absolute(), f"deploy/{name}: destination {dest_url} is relative"
            assert not URL_WITH_PASSWORD.search(dest_url)
            if isinstance(dest, dict):
                for key, value in dest.items():
                    if key.endswith("_env"):
                        assert re.fullmatch(r"[A-Z_][A-Z0-9_]*", value), f"{key} names an environment variable"
                    else:
                        assert not SECRET_WORDS.search(key), f"deploy/{name}: {key} looks like an inline secret"


# ---- Kubernetes -----------------------------------------------------------------------------------------------

def test_kustomization_lists_every_manifest() -> None:
    (kustomization,) = yaml_docs(K8S / "kustomization.yaml")
    listed = set(kustomization["resources"])
    present = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present
    assert "namespace" not in kustomization, "the manifests are namespace-less; the user picks one"
    for doc in (d for path in K8S.glob("*.yaml") for d in yaml_docs(path)):
        assert "namespace" not in doc.get("metadata", {}), f"{doc['kind']} names a namespace"


def test_kustomize_renders_the_manifests() -> None:
    kubectl, kustomize = shutil.which("kubectl"), shutil.which("kustomize")
    if kustomize:
        command = [kustomize, "build", str(K8S)]
    elif kubectl:
        command = [kubectl, "kustomize", str(K8S)]
    else:
        pytest.skip("neither kustomize nor kubectl is installed here; the manifests are checked as YAML only")
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    kinds = {d["kind"] for d in yaml.safe_load_all(done.stdout) if d}
    assert {"ConfigMap", "Secret", "PersistentVolumeClaim", "Deployment", "Service", "CronJob"} <= kinds


def test_the_deployment_runs_several_daemons_on_postgresql() -> None:
    deployment = k8s_objects()["Deployment"]
    assert deployment["spec"]["replicas"] > 1
    container = wirepub_container(pod_spec("Deployment"))
    assert container.get("args") == ["run"] or container.get("command", [])[-1:] == ["run"]
    # Several replicas share the work only through PostgreSQL: the Secret's store URL must be one.
    url = k8s_objects()["Secret"]["stringData"]["WIREPUB_STORE_URL"]
    assert url.startswith("postgresql+psycopg://"), "psycopg 3 is the driver: postgresql+psycopg://"
    assert "store" not in k8s_config() or not k8s_config()["store"].get("url", "").startswith("sqlite")


@pytest.mark.parametrize("kind", ["Deployment", "CronJob"])
def test_the_store_url_and_every_secret_come_from_the_secret(kind: str) -> None:
    secret = k8s_objects()["Secret"]
    container = wirepub_container(pod_spec(kind))
    from_secret = {ref["secretRef"]["name"] for ref in container.get("envFrom", []) if "secretRef" in ref}
    by_key = {e["name"]: e["valueFrom"]["secretKeyRef"]["name"] for e in container.get("env", [])
              if "secretKeyRef" in e.get("valueFrom", {})}
    name = secret["metadata"]["name"]
    for key in ("WIREPUB_STORE_URL", "WIREPUB_STATUS_TOKEN"):
        assert key in secret["stringData"]
        assert name in from_secret or by_key.get(key) == name, f"{kind} does not take {key} from the Secret"
    for env in container.get("env", []):
        if "value" in env:
            assert not SECRET_WORDS.search(env["name"]), f"{kind}: {env['name']} is set inline"
            assert env["name"] != "WIREPUB_STORE_URL", f"{kind}: the store URL is set inline"
            assert not URL_WITH_PASSWORD.search(str(env["value"]))
    # Every variable a destination names (secret_env, password_env...) is in the Secret.
    named = {v for p in k8s_config().get("partners", []) for d in p["destinations"] if isinstance(d, dict)
             for k, v in d.items() if k.endswith("_env")}
    assert named <= set(secret["stringData"]), f"variables named in wirepub.toml but not in the Secret: {named}"


def test_the_configmap_holds_no_secret() -> None:
    text = k8s_objects()["ConfigMap"]["data"]["wirepub.toml"]
    settings = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert not URL_WITH_PASSWORD.search(settings), "a URL with a password in the ConfigMap"
    assert "postgresql" not in k8s_config().get("store", {}).get("url", "")
    for value in k8s_objects()["Secret"]["stringData"].values():
        assert value not in text


def test_the_example_secret_holds_only_placeholders() -> None:
    secret = k8s_objects()["Secret"]
    assert "data" not in secret, "stringData only: base64 would hide what is in it"
    for key, value in secret["stringData"].items():
        assert PLACEHOLDER in value, f"{key} should be an obvious placeholder ({PLACEHOLDER!r})"
    assert "replace" in (K8S / "secret.yaml").read_text(encoding="utf-8").lower()


def test_the_status_page_beyond_loopback_has_its_token() -> None:
    host, _ = listen_of(k8s_config())
    assert not is_loopback(host), "probes and the Service need wirepub to listen beyond loopback in a pod"
    assert "WIREPUB_STATUS_TOKEN" in k8s_objects()["Secret"]["stringData"]


def test_probes_hit_healthz_on_the_port_wirepub_listens_on() -> None:
    _, port = listen_of(k8s_config())
    container = wirepub_container(pod_spec("Deployment"))
    named = {p["name"]: p["containerPort"] for p in container["ports"] if "name" in p}
    assert port in {p["containerPort"] for p in container["ports"]}
    assert "livenessProbe" in container and "readinessProbe" in container
    for probe_name in ("startupProbe", "readinessProbe", "livenessProbe"):
        if probe_name not in container:
            continue
        get = container[probe_name]["httpGet"]
        assert get["path"] == "/healthz", probe_name
        probe_port = named[get["port"]] if isinstance(get["port"], str) else get["port"]
        assert probe_port == port, f"{probe_name} probes port {probe_port}; wirepub listens on {port}"
    # A PostgreSQL hiccup turns /healthz 503: readiness reacts first, liveness later.
    ready, live = container["readinessProbe"], container["livenessProbe"]
    patience = live.get("periodSeconds", 10) * live.get("failureThreshold", 3)
    assert patience > ready.get("periodSeconds", 10) * ready.get("failureThreshold", 3)


def test_the_service_reaches_the_daemon_pods() -> None:
    service = k8s_objects()["Service"]
    labels = k8s_objects()["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    container = wirepub_container(pod_spec("Deployment"))
    names = {p.get("name") for p in container["ports"]} | {p["containerPort"] for p in container["ports"]}
    for port in service["spec"]["ports"]:
        assert port["targetPort"] in names
    pdb = k8s_objects()["PodDisruptionBudget"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()


@pytest.mark.parametrize("kind", ["Deployment", "CronJob"])
def test_pods_run_as_non_root_on_a_read_only_root(kind: str) -> None:
    spec = pod_spec(kind)
    container = wirepub_container(spec)
    pod_sc, sc = spec.get("securityContext", {}), container.get("securityContext", {})
    assert sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is True
    uid = sc.get("runAsUser", pod_sc.get("runAsUser"))
    assert uid is not None and uid != 0
    assert uid == image_user()[0], "the pods run as the image's own user"
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["readOnlyRootFilesystem"] is True
    assert "ALL" in sc.get("capabilities", {}).get("drop", [])
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert set(mounts.values()) <= set(volumes)
    assert "emptyDir" in volumes[mounts["/tmp"]], "a read-only root needs a writable /tmp"
    assert spec.get("enableServiceLinks") is False, "a Service named wirepub would inject WIREPUB_* variables"


@pytest.mark.parametrize("kind", ["Deployment", "CronJob"])
def test_pods_get_more_time_to_stop_than_wirepub_takes(kind: str) -> None:
    grace = pod_spec(kind).get("terminationGracePeriodSeconds", 30)
    assert grace > shutdown_grace_of(k8s_config())


@pytest.mark.parametrize("kind", ["Deployment", "CronJob"])
def test_pods_read_the_configmap_and_share_the_hot_folder(kind: str) -> None:
    spec = pod_spec(kind)
    container = wirepub_container(spec)
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    config_path = PurePosixPath(env["WIREPUB_CONFIG"])
    config_mount = mounts[str(config_path.parent)]
    assert config_mount.get("readOnly") is True
    cm_ref = volumes[config_mount["name"]]["configMap"]
    assert cm_ref["name"] == k8s_objects()["ConfigMap"]["metadata"]["name"]
    assert config_path.name in k8s_objects()["ConfigMap"]["data"]

    hot_folder = k8s_config()["source"]["path"]
    claim = volumes[mounts[hot_folder]["name"]]["persistentVolumeClaim"]["claimName"]
    pvc = k8s_objects()["PersistentVolumeClaim"]
    assert claim == pvc["metadata"]["name"]
    assert "ReadWriteMany" in pvc["spec"]["accessModes"], "pods on several nodes share the hot folder"


def test_the_cronjob_pushes_one_batch_at_a_time() -> None:
    cronjob = k8s_objects()["CronJob"]
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    assert len(cronjob["spec"]["schedule"].split()) == 5
    spec = pod_spec("CronJob")
    container = wirepub_container(spec)
    assert container.get("args") == ["push"] or container.get("command", [])[-1:] == ["push"]
    assert spec["restartPolicy"] in ("Never", "OnFailure")
    # Exit 2 is a configuration error: the Job fails instead of retrying it.
    rules = cronjob["spec"]["jobTemplate"]["spec"].get("podFailurePolicy", {}).get("rules", [])
    fail_on = {code for r in rules if r["action"] == "FailJob" for code in r.get("onExitCodes", {}).get("values", [])}
    assert 2 in fail_on
    assert container["image"] == wirepub_container(pod_spec("Deployment"))["image"]


# ---- compose ----------------------------------------------------------------------------------------------

def compose() -> dict[str, Any]:
    (doc,) = yaml_docs(COMPOSE)
    return doc


def compose_config() -> tuple[Path, dict[str, Any]]:
    wirepub = compose()["services"]["wirepub"]
    env = wirepub["environment"]
    target = env.get("WIREPUB_CONFIG", "/etc/wirepub/wirepub.toml")
    for volume in wirepub["volumes"]:
        source, _, rest = volume.partition(":")
        if rest.split(":")[0] == target:
            path = (COMPOSE.parent / source).resolve()
            return path, tomllib.loads(path.read_text(encoding="utf-8"))
    raise AssertionError(f"compose mounts no configuration at {target}")


def test_compose_brings_up_wirepub_postgresql_and_an_s3_store() -> None:
    services = compose()["services"]
    assert {"wirepub", "postgres"} <= set(services)
    assert services["postgres"]["image"].startswith("postgres:16")
    s3 = [name for name, s in services.items() if str(s.get("image", "")).startswith(("minio/minio", "motoserver/"))]
    assert s3, "an S3-compatible store (MinIO or moto)"
    for name in ("wirepub", "postgres", *s3):
        assert "test" in services[name].get("healthcheck", {}), f"{name} has no healthcheck"


def test_compose_starts_wirepub_after_what_it_needs() -> None:
    services = compose()["services"]
    wants = services["wirepub"]["depends_on"]
    assert wants["postgres"]["condition"] == "service_healthy"
    for name, dep in wants.items():
        assert dep["condition"] in ("service_healthy", "service_completed_successfully"), name
        if dep["condition"] == "service_healthy":
            assert "healthcheck" in services[name], f"{name} is waited on for health but has no healthcheck"
    # The bucket exists before wirepub delivers to it: a one-shot setup it waits for, after the store is up.
    setups = [n for n, d in wants.items() if d["condition"] == "service_completed_successfully"]
    assert setups, "wirepub should wait for the bucket to be created"
    for name in setups:
        assert services[name].get("restart", "no") == "no"
        assert all(d["condition"] == "service_healthy" for d in services[name].get("depends_on", {}).values())


def test_compose_builds_the_image_from_the_containerfile() -> None:
    build = compose()["services"]["wirepub"]["build"]
    context = (COMPOSE.parent / build["context"]).resolve()
    assert context == REPO
    assert (context / build["dockerfile"]).resolve() == CONTAINERFILE


def test_compose_wires_the_store_the_bucket_and_the_health_check() -> None:
    services = compose()["services"]
    wirepub, postgres = services["wirepub"], services["postgres"]
    env = wirepub["environment"]
    store = urlsplit(env["WIREPUB_STORE_URL"])
    assert store.scheme == "postgresql+psycopg"
    assert store.hostname == "postgres" and (store.port or 5432) == 5432
    assert store.username == postgres["environment"]["POSTGRES_USER"]
    assert store.path.lstrip("/") == postgres["environment"]["POSTGRES_DB"]
    assert store.password == postgres["environment"]["POSTGRES_PASSWORD"]  # the same ${...:-placeholder}

    _, config = compose_config()
    host, port = listen_of(config)
    assert not is_loopback(host), "in a container wirepub listens beyond loopback"
    assert env.get("WIREPUB_STATUS_TOKEN"), "listening beyond loopback needs the status token"
    assert any(str(p).endswith(f":{port}") for p in wirepub.get("ports", []))
    check = " ".join(wirepub["healthcheck"]["test"])
    (url,) = re.findall(r"https?://[^'\"\s]+", check)
    assert healthz_port(url) == port
    assert seconds(wirepub["stop_grace_period"]) > shutdown_grace_of(config)

    s3_destinations = [d for p in config.get("partners", []) for d in p["destinations"]
                       if isinstance(d, dict) and d["url"].startswith("s3://")]
    assert s3_destinations, "the trial delivers to the S3-compatible store"
    for dest in s3_destinations:
        assert urlsplit(dest["endpoint_url"]).hostname in services
    minio = next(s for s in services.values() if str(s.get("image", "")).startswith("minio/minio"))
    assert env["AWS_ACCESS_KEY_ID"] == minio["environment"]["MINIO_ROOT_USER"]
    assert env["AWS_SECRET_ACCESS_KEY"] == minio["environment"]["MINIO_ROOT_PASSWORD"]


def test_compose_passwords_are_placeholders_you_can_override() -> None:
    for name, service in compose()["services"].items():
        env = service.get("environment", {})
        assert isinstance(env, dict), f"{name}: environment as a mapping"
        for key, value in env.items():
            if SECRET_WORDS.search(key) or URL_WITH_PASSWORD.search(str(value)):
                assert "${" in str(value) and PLACEHOLDER in str(value), \
                    f"{name}.{key}: a ${{VARIABLE:-{PLACEHOLDER}...}} placeholder, never a real secret"


# ---- the container image ----------------------------------------------------------------------------------

def image_user() -> tuple[int, int]:
    users = [i for i in containerfile_instructions() if i[0] == "USER"]
    assert users, "the image sets no USER: it would run as root"
    user, _, group = users[-1][1].partition(":")
    assert user.isdigit() and (not group or group.isdigit()), \
        "a numeric USER: Kubernetes' runAsNonRoot cannot verify a user name"
    return int(user), int(group or user)


def test_the_image_is_multi_stage_on_slim_python() -> None:
    instructions = containerfile_instructions()
    args = {a.split("=", 1)[0]: a.split("=", 1)[1] for k, a in instructions if k == "ARG" and "=" in a}
    stages = [re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], a).split()[0] for k, a in instructions if k == "FROM"]
    assert len(stages) >= 2, "build the wheel in one stage, run in another"
    assert all(s.startswith("python:3.11-slim") for s in stages), stages
    runs = " ".join(a for k, a in instructions if k == "RUN")
    assert "pip wheel" in runs or "python -m build" in runs, "the image installs a built wheel"


def test_the_image_runs_the_daemon_as_a_non_root_user() -> None:
    uid, gid = image_user()
    assert uid != 0 and gid != 0
    instructions = containerfile_instructions()
    (entrypoint,) = [i for i in instructions if i[0] == "ENTRYPOINT"]
    (cmd,) = [i for i in instructions if i[0] == "CMD"]
    assert args_of(entrypoint) == ["wirepub"]
    assert args_of(cmd) == ["run"]
    assert any(k == "VOLUME" for k, _ in instructions), "state lives in a volume"
    stop = [a for k, a in instructions if k == "STOPSIGNAL"]
    assert stop in ([], ["SIGTERM"])


def test_the_image_checks_healthz_on_the_port_it_exposes() -> None:
    instructions = containerfile_instructions()
    config = tomllib.loads((CONTAINER / "wirepub.toml").read_text(encoding="utf-8"))
    host, port = listen_of(config)
    assert not is_loopback(host), "a container's port is only reachable if wirepub listens beyond loopback"
    exposed = {int(p.split("/")[0]) for k, a in instructions if k == "EXPOSE" for p in a.split()}
    assert port in exposed
    (health,) = [a for k, a in instructions if k == "HEALTHCHECK"]
    assert " CMD " in f" {health} ", "HEALTHCHECK CMD ..."
    assert "curl" not in health and "wget" not in health, "the slim image has neither curl nor wget"
    (url,) = re.findall(r"https?://[^'\"\s]+", health)
    assert healthz_port(url) == port


def test_the_image_config_is_where_wirepub_looks_for_it() -> None:
    instructions = containerfile_instructions()
    env = " ".join(a for k, a in instructions if k == "ENV")
    match = re.search(r"WIREPUB_CONFIG=(\S+)", env)
    assert match, "ENV WIREPUB_CONFIG"
    copies = [shlex.split(a) for k, a in instructions if k == "COPY"]
    assert ["deploy/container/wirepub.toml", match.group(1)] in copies


def test_the_image_copies_only_what_exists_and_what_the_ignore_file_lets_in() -> None:
    ignore = (CONTAINER / "Containerfile.dockerignore").read_text(encoding="utf-8").splitlines()
    allowed = [line[1:].rstrip("/") for line in ignore if line.startswith("!")]
    for words in (shlex.split(a) for k, a in containerfile_instructions() if k == "COPY"):
        if any(w.startswith("--from") for w in words):
            continue
        for source in (w for w in words[:-1] if not w.startswith("--")):
            assert (REPO / source).exists(), f"COPY {source}: not in the repository"
            assert source.rstrip("/") in allowed, f"COPY {source}: excluded by Containerfile.dockerignore"


@pytest.mark.parametrize("status", [200, 503])
def test_the_image_healthcheck_command_fails_on_503(status: int) -> None:
    """Run the HEALTHCHECK's own command against a stand-in /healthz: exit 0 on 200, non-zero on 503."""

    class Healthz(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the http.server API)
            self.send_response(status if self.path == "/healthz" else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"ok": %s}' % (b"true" if status == 200 else b"false"))

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the http.server API)
            pass

    (health,) = [a for k, a in containerfile_instructions() if k == "HEALTHCHECK"]
    command = json.loads(health[health.index(" CMD ") + len(" CMD "):].strip())
    assert command[0] == "python"
    server = ThreadingHTTPServer(("127.0.0.1", 0), Healthz)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        _, port = listen_of(tomllib.loads((CONTAINER / "wirepub.toml").read_text(encoding="utf-8")))
        code = [arg.replace(f":{port}/", f":{server.server_address[1]}/") for arg in command[1:]]
        done = subprocess.run([sys.executable, *code], capture_output=True, timeout=30, check=False)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert (done.returncode == 0) == (status == 200), done.stderr


# ---- systemd ------------------------------------------------------------------------------------------------

UNITS = ("wirepub.service", "wirepub-push.service")


@pytest.mark.parametrize("name", UNITS)
def test_units_run_as_a_dedicated_user_with_state_config_and_secrets(name: str) -> None:
    unit = unit_file(SYSTEMD / name)
    user, dynamic = last(unit, "Service", "User"), last(unit, "Service", "DynamicUser")
    assert user == "wirepub" and dynamic in (None, "no"), "a dedicated system user (wirepub.sysusers)"
    assert "wirepub" in (SYSTEMD / "wirepub.sysusers").read_text(encoding="utf-8").split()
    assert last(unit, "Service", "StateDirectory") == "wirepub"
    assert last(unit, "Service", "WorkingDirectory") in ("%S/wirepub", "/var/lib/wirepub")
    assert "WIREPUB_CONFIG=/etc/wirepub/wirepub.toml" in every(unit, "Service", "Environment")
    env_file = last(unit, "Service", "EnvironmentFile")
    assert env_file is not None and env_file.startswith("-/etc/wirepub/")
    verb = "run" if name == "wirepub.service" else "push"
    exec_start = shlex.split(last(unit, "Service", "ExecStart") or "")
    assert PurePosixPath(exec_start[0]).name == "wirepub" and exec_start[1:] == [verb]


def test_the_daemon_unit_restarts_on_failure_and_stops_gracefully() -> None:
    unit = unit_file(SYSTEMD / "wirepub.service")
    config = tomllib.loads((SYSTEMD / "wirepub.toml").read_text(encoding="utf-8"))
    assert last(unit, "Service", "Restart") == "on-failure"
    assert seconds(last(unit, "Service", "RestartSec") or "0") >= 1
    assert "2" in (last(unit, "Service", "RestartPreventExitStatus") or "").split(), \
        "a configuration error (exit 2) is not restarted in a loop"
    assert last(unit, "Service", "KillSignal") in (None, "SIGTERM", "TERM")
    assert seconds(last(unit, "Service", "TimeoutStopSec") or "90") > shutdown_grace_of(config)
    assert is_loopback(listen_of(config)[0]), "on a host the status page stays on loopback"


@pytest.mark.parametrize("name", UNITS)
def test_units_are_sandboxed(name: str) -> None:
    unit = unit_file(SYSTEMD / name)
    for key, value in (("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("PrivateTmp", "yes"),
                       ("ProtectHome", "yes"), ("PrivateDevices", "yes")):
        assert last(unit, "Service", key) == value, f"{name}: {key}={value}"
    config = tomllib.loads((SYSTEMD / "wirepub.toml").read_text(encoding="utf-8"))
    writable = ["/var/lib/wirepub"] + [p.lstrip("-") for v in every(unit, "Service", "ReadWritePaths")
                                       for p in v.split()]
    folders = [config["source"]["path"]] + [d for p in config.get("partners", []) for d in p["destinations"]
                                            if isinstance(d, str) and "://" not in d]
    for folder in folders:
        assert any(PurePosixPath(folder).is_relative_to(w) for w in writable), \
            f"{name}: {folder} is read-only under ProtectSystem=strict"


def test_the_timer_starts_the_push_service() -> None:
    timer = unit_file(SYSTEMD / "wirepub-push.timer")
    assert last(timer, "Timer", "Unit") in (None, "wirepub-push.service")
    assert last(timer, "Timer", "OnCalendar") or last(timer, "Timer", "OnUnitActiveSec")
    assert last(unit_file(SYSTEMD / "wirepub-push.service"), "Service", "Type") == "oneshot"


def _units_with_a_stand_in_binary(tmp_path: Path) -> list[Path]:
    """The units, their ExecStart pointed at an executable that exists: verify checks the path."""
    stand_in = tmp_path / "wirepub"
    stand_in.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    stand_in.chmod(0o755)
    copies = []
    for path in sorted(SYSTEMD.glob("*.service")) + sorted(SYSTEMD.glob("*.timer")):
        text = re.sub(r"^(ExecStart=)\S+", lambda m: m.group(1) + str(stand_in), path.read_text(encoding="utf-8"),
                      flags=re.MULTILINE)
        copy = tmp_path / path.name
        copy.write_text(text, encoding="utf-8")
        copies.append(copy)
    return copies


def test_systemd_analyze_verify_accepts_the_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here; the units are checked as text only")
    units = _units_with_a_stand_in_binary(tmp_path)
    done = subprocess.run([analyze, "verify", *map(str, units)], capture_output=True, text=True, timeout=120,
                          check=False, cwd=tmp_path)
    ours = [line for line in (done.stdout + done.stderr).splitlines()
            if str(tmp_path) in line or any(u.name in line for u in units)]
    # verify exits 0 on an unknown key but says so: any word about our files is a failure.
    assert done.returncode == 0 and not ours, done.stdout + done.stderr


@pytest.mark.parametrize("name", UNITS)
def test_systemd_analyze_security_rates_the_units_exposure_low(name: str, tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here")
    units = {u.name: u for u in _units_with_a_stand_in_binary(tmp_path)}
    done = subprocess.run([analyze, "security", "--offline=true", "--no-pager", str(units[name])],
                          capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path)
    match = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", done.stdout + done.stderr)
    if match is None and ("offline" in done.stderr or "Unknown" in done.stderr):
        pytest.skip(f"this systemd-analyze cannot rate a unit file offline (needs systemd 250+): {done.stderr}")
    assert match, done.stdout + done.stderr
    assert float(match.group(1)) <= 2.0, f"{name}: exposure {match.group(1)} (0 best, 10 worst)"
