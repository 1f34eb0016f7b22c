"""deploy/k8s: every manifest validates offline, and the base and overlays say what ops expect.

Rendering: kustomize v5.5.0, which `make test` builds once from the Go module proxy into
.cache/kustomize/ (path given in KUSTOMIZE), offline; `kubectl kustomize` renders the same. Schemas: kubernetes-validate's bundled Kubernetes JSON schemas, strict (unknown
fields are errors). CloudNativePG's Cluster and ScheduledBackup have no schema there, so
their required fields are checked here by hand.
"""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from deploy.tests.support import ROOT, has_registry_host

K8S = ROOT / "deploy" / "k8s"
TARGETS = ("base", "overlays/dev", "overlays/prod")
KUBERNETES_VERSION = "1.30.0"  # the oldest minor we support; its schemas also hold for newer ones
CRDS = {("postgresql.cnpg.io/v1", "Cluster"), ("postgresql.cnpg.io/v1", "ScheduledBackup")}
APPS = {"accounts": 8081, "transactions": 8082, "preferences": 8083, "gateway": 8080}
MIGRATIONS = {"accounts-migrate", "transactions-migrate", "preferences-migrate"}
PG_SERVICES = ("accounts", "transactions")
# Secrets the manifests reference; created out of band, each documented in docs/operations.md.
SECRETS = {"finova-internal-token", "accounts-db", "accounts-pii", "transactions-db",
           "preferences-mongo", "postgres-superuser", "mongo-root", "redis", "gateway-jwt",
           "gateway-tls", "mongo-keyfile", "pg-backup-s3"}
# CronJob -> (the module whose source must offer the command, the command; None: the module
# is the command itself, `python -m module`).
CRONJOB_COMMANDS = {
    "accounts-outbox-relay": ("services/accounts/cli.py", "relay-outbox"),
    "transactions-outbox-relay": ("services/transactions/cli.py", "relay-outbox"),
    "accounts-purge": ("services/accounts/cli.py", "purge"),
    "transactions-purge": ("services/transactions/cli.py", "purge"),
    "transactions-ledger-check": ("services/transactions/cli.py", "ledger-check"),
    "transactions-create-partitions": ("services/transactions/cli.py", "create-partitions"),
    "transactions-expire-holds": ("services/transactions/cli.py", "expire-holds"),
    "transactions-data-quality": ("services/transactions/cli.py", "data-quality"),
    "preferences-purge": ("services/preferences/purge.py", None),
    "preferences-backup": ("services/preferences/backup.py", None),
    "transactions-scheduled-transfers": ("services/transactions/cli.py", "run-due"),
}


def _kustomize() -> str:
    found = os.environ.get("KUSTOMIZE") or str(ROOT / ".cache/kustomize/v5.5.0/kustomize")
    assert os.access(found, os.X_OK), f"{found} is missing: `make test` builds kustomize (needs Go)"
    return found


def render(target: str) -> list[dict]:
    result = subprocess.run([_kustomize(), "build", str(K8S / target)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict]]:
    return {target: render(target) for target in TARGETS}


def _of(docs, kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def _pod_spec(doc: dict) -> dict | None:
    if doc["kind"] in ("Deployment", "StatefulSet", "Job"):
        return doc["spec"]["template"]["spec"]
    if doc["kind"] == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return None


def _pod_labels(doc: dict) -> dict | None:
    if doc["kind"] in ("Deployment", "StatefulSet", "Job"):
        return doc["spec"]["template"]["metadata"]["labels"]
    if doc["kind"] == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    if doc["kind"] == "Cluster":  # CloudNativePG puts these on every instance pod
        return {**doc["spec"]["inheritedMetadata"]["labels"], "cnpg.io/cluster": doc["metadata"]["name"]}
    return None


def _workloads(docs) -> dict[str, dict]:
    """Pods by name: the labels each kind of pod carries."""
    return {d["metadata"]["name"]: labels for d in docs if (labels := _pod_labels(d)) is not None}


# --- files and schemas --------------------------------------------------------------------------

def _manifest_files() -> list[Path]:
    return sorted(p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml")


@pytest.mark.parametrize("path", _manifest_files(), ids=lambda p: str(p.relative_to(K8S)))
def test_every_manifest_file_validates_against_its_schema(path):
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    assert docs, f"{path} holds no manifest"
    for doc in docs:
        if (doc["apiVersion"], doc["kind"]) in CRDS:
            continue  # checked by hand below
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("target", TARGETS)
def test_every_rendered_manifest_validates_against_its_schema(rendered, target):
    kinds = set()
    for doc in rendered[target]:
        kinds.add(doc["kind"])
        if (doc["apiVersion"], doc["kind"]) not in CRDS:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    assert {"Deployment", "Service", "Job", "CronJob", "NetworkPolicy", "Ingress",
            "HorizontalPodAutoscaler", "PodDisruptionBudget", "ConfigMap"} <= kinds


def test_every_kustomization_lists_resources_that_exist():
    kustomizations = sorted(K8S.rglob("kustomization.yaml"))
    assert len(kustomizations) == 3
    for path in kustomizations:
        for resource in yaml.safe_load(path.read_text())["resources"]:
            assert (path.parent / resource).exists(), f"{path}: {resource}"
    listed = {(p.parent / r).resolve() for p in kustomizations
              for r in yaml.safe_load(p.read_text())["resources"]}
    assert set(_manifest_files()) <= {p.resolve() for p in listed} | set(), "a manifest file no kustomization uses"


# --- workloads ----------------------------------------------------------------------------------

@pytest.mark.parametrize("target", TARGETS)
def test_every_pod_runs_non_root_read_only_without_privileges(rendered, target):
    for doc in rendered[target]:
        spec = _pod_spec(doc)
        if spec is None:
            continue
        name = doc["metadata"]["name"]
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] > 0, name
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        assert spec.get("automountServiceAccountToken") is False, name
        for container in spec["containers"] + spec.get("initContainers", []):
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, f"{name}/{container['name']}"
            assert context["allowPrivilegeEscalation"] is False, f"{name}/{container['name']}"
            assert context["capabilities"]["drop"] == ["ALL"], f"{name}/{container['name']}"
            assert container["resources"]["requests"] and container["resources"]["limits"]["memory"], name
            assert not has_registry_host(container["image"]), container["image"]


@pytest.mark.parametrize("target", TARGETS)
def test_each_app_has_probes_a_service_an_autoscaler_and_a_disruption_budget(rendered, target):
    docs = rendered[target]
    deployments, services = _of(docs, "Deployment"), _of(docs, "Service")
    hpas, pdbs = _of(docs, "HorizontalPodAutoscaler"), _of(docs, "PodDisruptionBudget")
    for app, port in APPS.items():
        container = deployments[app]["spec"]["template"]["spec"]["containers"][0]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        # The gateway's readiness is its own (it degrades per upstream); a service's is its store.
        assert container["readinessProbe"]["httpGet"]["path"] == ("/healthz" if app == "gateway" else "/readyz")
        assert container["ports"][0]["containerPort"] == port
        assert "replicas" not in deployments[app]["spec"], f"{app}: the autoscaler owns replicas"
        assert services[app]["spec"]["ports"][0]["port"] == port
        assert services[app]["spec"].get("type", "ClusterIP") == "ClusterIP"
        assert hpas[app]["spec"]["scaleTargetRef"]["name"] == app
        assert hpas[app]["spec"]["minReplicas"] >= (1 if target == "overlays/dev" else 2)
        assert pdbs[app]["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": app}


@pytest.mark.parametrize("target", TARGETS)
def test_migration_jobs_run_each_services_image_as_its_owner(rendered, target):
    jobs = _of(rendered[target], "Job")
    assert MIGRATIONS | {"postgres-provision", "mongo-provision"} <= set(jobs)
    for name in MIGRATIONS:
        container = jobs[name]["spec"]["template"]["spec"]["containers"][0]
        service = name.removesuffix("-migrate")
        assert container["image"].split(":")[0] == f"finovabank/{service}"
        assert container["args"][0] == "migrate"
        url = container["env"][0]["valueFrom"]["secretKeyRef"]
        assert url["key"] == "owner-url", name


@pytest.mark.parametrize("target", TARGETS)
def test_only_the_gateway_is_exposed(rendered, target):
    docs = rendered[target]
    ingresses = _of(docs, "Ingress")
    assert set(ingresses) == {"gateway"}
    backends = {path["backend"]["service"]["name"] for rule in ingresses["gateway"]["spec"]["rules"]
                for path in rule["http"]["paths"]}
    assert backends == {"gateway"}
    for service in _of(docs, "Service").values():
        assert service["spec"].get("type", "ClusterIP") == "ClusterIP", service["metadata"]["name"]


def test_cronjobs_are_suspended_exactly_while_their_command_does_not_exist(rendered):
    cronjobs = _of(rendered["overlays/prod"], "CronJob")
    assert set(cronjobs) == set(CRONJOB_COMMANDS)
    for name, (module, command) in CRONJOB_COMMANDS.items():
        spec = cronjobs[name]["spec"]
        container = spec["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
        assert container["args"][:2] == ["python", "-m"]
        assert container["args"][2] == module.removesuffix(".py").replace("/", ".")
        if command is None:
            assert len(container["args"]) == 3
            exists = (ROOT / module).exists()
        else:
            assert container["args"][-1] == command
            exists = f'"{command}"' in (ROOT / module).read_text()
        assert spec["suspend"] is (not exists), (
            f"{name}: {command} {'exists: unsuspend the CronJob' if exists else 'does not exist yet: keep it suspended'}")
        assert ("finovabank.io/pending" in cronjobs[name]["metadata"].get("annotations", {})) is (not exists)
        assert spec["concurrencyPolicy"] == "Forbid"


@pytest.mark.parametrize("target", TARGETS)
def test_secrets_are_referenced_never_committed(rendered, target):
    docs = rendered[target]
    assert not [d for d in docs if d["kind"] == "Secret"]
    text = yaml.safe_dump_all(docs)
    referenced = set(re.findall(r"secretKeyRef:\s+key: \S+\s+name: (\S+)", text))
    referenced |= set(re.findall(r"secretName: (\S+)", text))
    referenced |= {v["name"] for d in docs if d["kind"] == "Cluster"
                   for v in (d["spec"]["superuserSecret"],
                             d["spec"]["backup"]["barmanObjectStore"]["s3Credentials"]["accessKeyId"])}
    assert referenced and referenced <= SECRETS, sorted(referenced - SECRETS)
    operations = (ROOT / "docs" / "operations.md").read_text()
    for name in referenced:
        assert f"`{name}`" in operations, f"secret {name} is not documented in docs/operations.md"


def test_no_file_under_deploy_holds_a_secret_value():
    for path in (ROOT / "deploy").rglob("*"):
        if path.is_file() and path.suffix in (".yaml", ".yml", ".sh", ".js"):
            text = path.read_text()
            assert not re.search(r"(?i)(password|secret|token)\s*[:=]\s*['\"]?[A-Za-z0-9+/]{16,}", text), path
            assert "BEGIN PRIVATE KEY" not in text and "BEGIN RSA" not in text, path


# --- network policies: a small evaluator over the rendered objects -----------------------------

def _selects(selector: dict, labels: dict) -> bool:
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions", []):
        present = expression["key"] in labels
        value = labels.get(expression["key"])
        if expression["operator"] == "In" and value not in expression["values"]:
            return False
        if expression["operator"] == "Exists" and not present:
            return False
    return True


def _policies(docs, labels: dict, direction: str) -> list[dict]:
    kind = direction.capitalize()
    return [p["spec"] for p in docs if p["kind"] == "NetworkPolicy"
            and kind in p["spec"].get("policyTypes", []) and _selects(p["spec"]["podSelector"], labels)]


def _peer_allows(peer: dict, labels: dict) -> bool:
    """A peer in this namespace (no namespaceSelector) that selects these pod labels."""
    return "namespaceSelector" not in peer and "ipBlock" not in peer and \
        _selects(peer.get("podSelector", {}), labels)


def _port_open(rule: dict, port: int) -> bool:
    return "ports" not in rule or any(p.get("port") == port for p in rule["ports"])


def allowed(docs, source: dict, target: dict, port: int) -> bool:
    egress = any(_port_open(rule, port) and ("to" not in rule or any(_peer_allows(peer, target) for peer in rule["to"]))
                 for spec in _policies(docs, source, "egress") for rule in spec.get("egress", []))
    ingress = any(_port_open(rule, port) and ("from" not in rule or any(_peer_allows(peer, source) for peer in rule["from"]))
                  for spec in _policies(docs, target, "ingress") for rule in spec.get("ingress", []))
    return egress and ingress


def _reaching(docs, target: str, port: int) -> set[str]:
    pods = _workloads(docs)
    return {name for name, labels in pods.items() if name != target and allowed(docs, labels, pods[target], port)}


@pytest.mark.parametrize("target", ("overlays/dev", "overlays/prod"))
def test_everything_is_denied_unless_a_policy_allows_it(rendered, target):
    default = _of(rendered[target], "NetworkPolicy")["default-deny-all"]["spec"]
    assert default == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    for policy in _of(rendered[target], "NetworkPolicy").values():
        for rule in policy["spec"].get("ingress", []):
            assert rule.get("from"), f"{policy['metadata']['name']}: an ingress rule open to everyone"
            for peer in rule["from"]:
                assert "ipBlock" not in peer, policy["metadata"]["name"]


@pytest.mark.parametrize("target", ("overlays/dev", "overlays/prod"))
def test_only_the_gateway_takes_traffic_from_the_ingress_controller(rendered, target):
    reachable_from_outside = set()
    for name, labels in _workloads(rendered[target]).items():
        for spec in _policies(rendered[target], labels, "ingress"):
            for rule in spec.get("ingress", []):
                if any(peer.get("namespaceSelector", {}).get("matchLabels", {}).get(
                        "kubernetes.io/metadata.name") == "ingress-nginx" for peer in rule["from"]):
                    reachable_from_outside.add(name)
    assert reachable_from_outside == {"gateway"}


@pytest.mark.parametrize("target", ("overlays/dev", "overlays/prod"))
def test_the_calls_the_suite_makes_are_allowed(rendered, target):
    docs = rendered[target]
    pods = _workloads(docs)
    calls = [("gateway", app, APPS[app]) for app in ("accounts", "transactions", "preferences")] + [
        ("gateway", "redis", 6379), ("accounts", "transactions", 8082), ("transactions", "preferences", 8083),
        ("accounts", "preferences", 8083), ("accounts-outbox-relay", "preferences", 8083),
        ("accounts-outbox-relay", "transactions", 8082), ("transactions-outbox-relay", "preferences", 8083),
        ("preferences", "mongodb", 27017), ("preferences-migrate", "mongodb", 27017),
        ("preferences-purge", "mongodb", 27017), ("preferences-backup", "mongodb", 27017),
        ("mongo-provision", "mongodb", 27017)]
    for service in PG_SERVICES:
        store = "postgres" if target == "overlays/dev" else f"{service}-pg"
        for client in (service, f"{service}-migrate", f"{service}-purge", "postgres-provision"):
            calls.append((client, store, 5432))
    for job in ("transactions-ledger-check", "transactions-create-partitions", "transactions-expire-holds",
                "transactions-data-quality"):
        calls.append((job, "postgres" if target == "overlays/dev" else "transactions-pg", 5432))
    calls += [("transactions", "accounts", 8081), ("transactions-data-quality", "accounts", 8081)]
    for source, destination, port in calls:
        assert allowed(docs, pods[source], pods[destination], port), f"{source} -> {destination}:{port}"
    assert not allowed(docs, pods["preferences"], pods["accounts"], 8081)
    assert not allowed(docs, pods["preferences"], pods["transactions"], 8082)


@pytest.mark.parametrize("target", ("overlays/dev", "overlays/prod"))
def test_each_store_is_reachable_only_from_its_owner(rendered, target):
    docs = rendered[target]
    assert _reaching(docs, "redis", 6379) == {"gateway"}
    assert _reaching(docs, "mongodb", 27017) - {"mongodb"} == {"preferences", "preferences-migrate", "mongo-provision",
                                                              "preferences-purge", "preferences-backup"}
    if target == "overlays/prod":
        for service in PG_SERVICES:
            expected = {service, f"{service}-migrate", f"{service}-outbox-relay", f"{service}-purge",
                        "postgres-provision"}
            if service == "transactions":
                expected |= {"transactions-scheduled-transfers", "transactions-ledger-check",
                             "transactions-create-partitions", "transactions-expire-holds",
                             "transactions-data-quality"}
            assert _reaching(docs, f"{service}-pg", 5432) - {f"{service}-pg"} == expected, service
    else:  # one server holds both databases; the roles keep each service to its own
        reaching = _reaching(docs, "postgres", 5432)
        assert not reaching & {"gateway", "preferences", "preferences-migrate", "mongo-provision", "redis"}


# --- stores -------------------------------------------------------------------------------------

def test_prod_has_a_cloudnativepg_cluster_per_postgresql_service_with_replicas_and_wal_archiving(rendered):
    docs = rendered["overlays/prod"]
    clusters = _of(docs, "Cluster")
    assert set(clusters) == {f"{service}-pg" for service in PG_SERVICES}
    config = _of(docs, "ConfigMap")
    data = next(c["data"] for name, c in config.items() if name.startswith("finova-config"))
    backups = {b["spec"]["cluster"]["name"]: b for b in _of(docs, "ScheduledBackup").values()}
    for service in PG_SERVICES:
        name = f"{service}-pg"
        spec = clusters[name]["spec"]
        assert clusters[name]["apiVersion"] == "postgresql.cnpg.io/v1"
        assert spec["instances"] >= 3
        # The major development and the tests run (the embedded server), chosen by major.
        assert spec["imageCatalogRef"]["major"] == 18 and "imageName" not in spec
        assert spec["storage"]["size"] and spec["walStorage"]["size"]
        assert spec["affinity"]["podAntiAffinityType"] == "required"
        store = spec["backup"]["barmanObjectStore"]
        assert store["destinationPath"].startswith("s3://") and store["destinationPath"].endswith(f"/{name}")
        assert store["wal"]["compression"] and store["s3Credentials"]["secretAccessKey"]["name"] == "pg-backup-s3"
        assert spec["backup"]["retentionPolicy"].endswith("d")
        assert spec["postgresql"]["parameters"]["archive_timeout"]
        assert spec["inheritedMetadata"]["labels"]["app.kubernetes.io/name"] == "postgres"
        assert spec["superuserSecret"]["name"] == "postgres-superuser" and spec["enableSuperuserAccess"] is True
        assert data[f"{service.upper()}_PGHOST"] == f"{name}-rw"
        backup = backups[name]["spec"]
        assert backup["method"] == "barmanObjectStore" and len(backup["schedule"].split()) == 6
    assert not [d for d in docs if d["kind"] == "StatefulSet" and d["metadata"]["name"] == "postgres"]


def test_prod_mongodb_is_a_replica_set_of_three_and_provisioning_initiates_it(rendered):
    docs = rendered["overlays/prod"]
    mongo = _of(docs, "StatefulSet")["mongodb"]
    assert mongo["spec"]["replicas"] == 3
    args = mongo["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--replSet") + 1] == "rs0" and "--keyFile" in args
    env = {e["name"]: e for e in _of(docs, "Job")["mongo-provision"]["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["MONGO_REPLICA_SET"]["value"] == "rs0"
    assert env["MONGO_REPLICA_SET_MEMBERS"]["value"].count("mongodb-") == 3
    assert _of(docs, "PodDisruptionBudget")["mongodb"]["spec"]["maxUnavailable"] == 1


def test_dev_runs_single_instance_stores_on_the_same_per_service_hosts(rendered):
    docs = rendered["overlays/dev"]
    assert _of(docs, "StatefulSet")["postgres"]["spec"]["replicas"] == 1
    assert _of(docs, "StatefulSet")["mongodb"]["spec"]["replicas"] == 1
    data = next(c["data"] for name, c in _of(docs, "ConfigMap").items() if name.startswith("finova-config"))
    assert data["ACCOUNTS_PGHOST"] == data["TRANSACTIONS_PGHOST"] == "postgres"
    assert not _of(docs, "Cluster")


# --- exposure and identity (issue 13) ------------------------------------------------------------

def _ingress_routes(ingress: dict, path: str) -> bool:
    """Whether the Ingress sends this request path anywhere (Kubernetes path matching:
    Exact is the whole path, Prefix matches whole path elements)."""
    for rule in ingress["spec"]["rules"]:
        for entry in rule["http"]["paths"]:
            declared = entry["path"].rstrip("/") or "/"
            if entry["pathType"] == "Exact" and path == entry["path"]:
                return True
            if entry["pathType"] == "Prefix" and (declared == "/" or path == declared
                                                 or path.startswith(declared + "/")):
                return True
    return False


@pytest.mark.parametrize("target", TARGETS)
def test_the_ingress_routes_only_the_public_paths(rendered, target):
    ingress = _of(rendered[target], "Ingress")["gateway"]
    for path in ("/api/v1/accounts", "/api/v1/openapi.json", "/docs/", "/docs/index.html", "/healthz"):
        assert _ingress_routes(ingress, path), path
    for path in ("/metrics", "/readyz", "/readyz/", "/internal/auth/login", "/", "/apix", "/healthz/x",
                 "/metrics/", "/docsx"):
        assert not _ingress_routes(ingress, path), path


@pytest.mark.parametrize("target", ("overlays/dev", "overlays/prod"))
def test_the_gateway_trusts_exactly_the_ingress_hop(rendered, target):
    gateway = _of(rendered[target], "Deployment")["gateway"]
    env = {e["name"]: e.get("value") for e in gateway["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["TRUSTED_PROXY_HOPS"] == "1"


def _secret_ref(container: dict, name: str) -> dict:
    [entry] = [e for e in container["env"] if e["name"] == name]
    return entry["valueFrom"]["secretKeyRef"]


@pytest.mark.parametrize("target", TARGETS)
def test_every_app_runs_in_production_mode_with_a_signing_key_of_its_own(rendered, target):
    deployments = _of(rendered[target], "Deployment")
    keys = set()
    for app in APPS:
        container = deployments[app]["spec"]["template"]["spec"]["containers"][0]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["FINOVA_ENV"] == "production", app
        ref = _secret_ref(container, "INTERNAL_TOKEN_SECRET")
        assert (ref["name"], ref["key"]) == ("finova-internal-token", f"{app}-key"), app
        keys.add(ref["key"])
        if app != "gateway":  # the gateway receives no internal tokens
            assert _secret_ref(container, "INTERNAL_TRUSTED_KEYS")["key"] == "trusted-keys", app
    assert len(keys) == len(APPS)
    cronjobs = _of(rendered[target], "CronJob")
    for name, service in (("accounts-outbox-relay", "accounts"), ("transactions-outbox-relay", "transactions")):
        container = cronjobs[name]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
        assert _secret_ref(container, "INTERNAL_TOKEN_SECRET")["key"] == f"{service}-key", name
