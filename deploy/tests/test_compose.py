"""docker-compose.yml: the Compose Specification schema, start order, isolation, environment.

Schema: check-jsonschema's vendored copy of the Compose Specification JSON schema
(`--builtin-schema vendor.compose-spec`), offline. No Docker engine runs here, so nothing
is started; the environment each app gets is checked against the settings it declares, and
test_dockerfiles builds each app with exactly that environment.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from deploy.tests.support import (COMPOSE_FILE, ENV_EXAMPLE, PENDING_SETTINGS, ROOT, SERVICES,
                                  app_settings, compose_service_env, compose_variables,
                                  generated_secrets, has_registry_host, interpolate, load_compose,
                                  migrate_env, read_env_file, readable_env,
                                  required_compose_variables)

APPS = set(SERVICES)
STORES = {"postgres", "mongo", "redis"}
MIGRATIONS = {"accounts-migrate": "accounts", "transactions-migrate": "transactions",
              "preferences-migrate": "preferences"}
PROVISION = {"postgres-provision", "mongo-provision"}


def _check_jsonschema() -> str:
    found = Path(sys.executable).with_name("check-jsonschema")
    if found.exists():
        return str(found)
    found = shutil.which("check-jsonschema")
    assert found, "check-jsonschema is pinned in requirements/dev.txt: run make install"
    return found


@pytest.fixture(scope="module")
def compose():
    return load_compose()


def _depends(service: dict) -> dict[str, str]:
    depends = service.get("depends_on", {})
    if isinstance(depends, list):
        return {name: "service_started" for name in depends}
    return {name: spec.get("condition", "service_started") for name, spec in depends.items()}


def test_compose_file_validates_against_the_compose_specification():
    result = subprocess.run([_check_jsonschema(), "--builtin-schema", "vendor.compose-spec",
                             str(COMPOSE_FILE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_interpolated_compose_file_still_validates(tmp_path):
    """With .env.example's values in place (as `docker compose config` would put them)."""
    rendered = interpolate(load_compose(), read_env_file(ENV_EXAMPLE))
    target = tmp_path / "compose.rendered.yml"
    target.write_text(yaml.safe_dump(rendered))
    result = subprocess.run([_check_jsonschema(), "--builtin-schema", "vendor.compose-spec",
                             str(target)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_services_of_the_suite(compose):
    assert set(compose["services"]) == APPS | STORES | set(MIGRATIONS) | PROVISION
    images = {name: spec["image"] for name, spec in compose["services"].items()}
    assert images["postgres"] == "postgres:18"
    assert images["mongo"] == "mongo:7"
    assert images["redis"] == "redis:7"
    for name, image in images.items():
        assert not has_registry_host(image), f"{name}: {image}"
    assert "ferretdb" not in COMPOSE_FILE.read_text().lower()


def test_app_images_are_built_from_their_dockerfiles(compose):
    for name in APPS:
        spec = compose["services"][name]
        assert spec["build"]["context"] == "."
        assert spec["build"]["dockerfile"] == SERVICES[name][0]
        # One Dockerfile for the four apps: the build argument APP chooses this one.
        assert spec["build"]["args"] == {"APP": name}, name
        assert spec["image"].startswith(f"finovabank/{name}:")
    for job, service in MIGRATIONS.items():
        spec = compose["services"][job]
        # The migration job runs the service's own image, so code and schema always match.
        assert spec["image"] == compose["services"][service]["image"]
        assert spec["build"] == compose["services"][service]["build"]
        assert spec["command"][0] == "migrate"
    for name, spec in compose["services"].items():
        if "build" in spec:
            assert (ROOT / spec["build"]["dockerfile"]).is_file(), name


def test_only_the_gateway_publishes_a_port(compose):
    published = {name for name, spec in compose["services"].items() if spec.get("ports")}
    assert published == {"gateway"}
    assert compose["services"]["gateway"]["ports"] == ["${GATEWAY_BIND:-127.0.0.1}:${GATEWAY_PORT:-8080}:8080"]


def test_start_order(compose):
    services = compose["services"]
    for name, spec in services.items():
        for dependency in _depends(spec):
            assert dependency in services, f"{name} depends on unknown {dependency}"
    assert _depends(services["postgres-provision"]) == {"postgres": "service_healthy"}
    assert _depends(services["mongo-provision"]) == {"mongo": "service_healthy"}
    assert _depends(services["accounts-migrate"]) == {"postgres-provision": "service_completed_successfully"}
    assert _depends(services["transactions-migrate"]) == {"postgres-provision": "service_completed_successfully"}
    assert _depends(services["preferences-migrate"]) == {"mongo-provision": "service_completed_successfully"}
    for job, service in MIGRATIONS.items():
        assert _depends(services[service]).get(job) == "service_completed_successfully", service
    assert _depends(services["gateway"]) == {
        "accounts": "service_healthy", "transactions": "service_healthy",
        "preferences": "service_healthy", "redis": "service_healthy"}


def test_healthchecks_and_restart_policies(compose):
    services = compose["services"]
    for name in APPS | STORES:
        check = services[name].get("healthcheck")
        assert check and check["test"], f"{name} has no healthcheck"
        assert services[name]["restart"] == "unless-stopped"
    for name in APPS:
        test = " ".join(services[name]["healthcheck"]["test"])
        assert "/readyz" in test and test.startswith("CMD python")
    for name in set(MIGRATIONS) | PROVISION:
        assert services[name]["restart"] == "no"


def test_containers_are_locked_down(compose):
    for name in APPS | set(MIGRATIONS) | PROVISION:
        spec = compose["services"][name]
        assert spec["read_only"] is True, name
        assert "/tmp" in spec["tmpfs"], name
        assert spec["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in spec["security_opt"], name
    for name in APPS:
        spec = compose["services"][name]
        assert "/run/prometheus" in spec["tmpfs"], f"{name}: PROMETHEUS_MULTIPROC_DIR must be writable"
        assert spec["stop_signal"] == "SIGTERM"


def test_named_volumes_hold_the_data(compose):
    declared = set(compose["volumes"])
    used = set()
    for spec in compose["services"].values():
        for volume in spec.get("volumes", []):
            source = volume.split(":")[0] if isinstance(volume, str) else volume["source"]
            assert not source.startswith((".", "/")), f"bind mount {source}: use named volumes"
            used.add(source)
    assert used == declared
    mounts = {v.split(":")[1] for v in compose["services"]["postgres"]["volumes"]}
    assert "/var/lib/postgresql" in mounts  # PostgreSQL 18 images keep PGDATA under 18/docker there
    assert "/data/db" in {v.split(":")[1] for v in compose["services"]["mongo"]["volumes"]}


def test_each_store_is_reachable_only_from_its_owners(compose):
    services = compose["services"]
    networks = {name: set(spec.get("networks", [])) for name, spec in services.items()}
    members = lambda network: {n for n, nets in networks.items() if network in nets}  # noqa: E731
    assert members("postgres") == {"postgres", "postgres-provision", "accounts-migrate",
                                   "transactions-migrate", "accounts", "transactions"}
    assert members("mongo") == {"mongo", "mongo-provision", "preferences-migrate", "preferences"}
    assert members("redis") == {"redis", "gateway"}
    assert members("apps") == APPS
    assert members("edge") == {"gateway"}
    for name in ("apps", "postgres", "mongo", "redis"):
        assert compose["networks"][name]["internal"] is True, name


# --- environment ------------------------------------------------------------------------------

@pytest.mark.parametrize("service", sorted(APPS))
def test_every_variable_given_to_an_app_is_one_it_reads(service, compose):
    given = set(compose["services"][service]["environment"])
    unknown = given - readable_env(service) - PENDING_SETTINGS.get(service, set())
    assert not unknown, f"{service} is given {sorted(unknown)}, which it does not read"


@pytest.mark.parametrize("service", sorted(APPS))
def test_every_required_setting_of_an_app_is_given(service, compose):
    given = set(compose["services"][service]["environment"])
    required = {s.name for s in app_settings(service) if s.required}
    assert required <= given, f"{service} lacks {sorted(required - given)}"


@pytest.mark.parametrize("job,service", sorted(MIGRATIONS.items()))
def test_migration_jobs_get_what_migrate_reads(job, service, compose):
    given = set(compose["services"][job]["environment"])
    assert given <= migrate_env(service), f"{job}: {sorted(given - migrate_env(service))}"
    assert ("DATABASE_URL" if service != "preferences" else "MONGO_URL") in given


def test_services_run_as_app_roles_and_migrations_as_owners():
    env = lambda name: compose_service_env(name)  # noqa: E731
    for service in ("accounts", "transactions"):
        app = urlsplit(env(service)["DATABASE_URL"])
        owner = urlsplit(env(f"{service}-migrate")["DATABASE_URL"])
        assert (app.username, app.hostname, app.path) == (f"{service}_app", "postgres", f"/{service}")
        assert (owner.username, owner.hostname, owner.path) == (f"{service}_owner", "postgres", f"/{service}")
    app = urlsplit(env("preferences")["MONGO_URL"])
    owner = urlsplit(env("preferences-migrate")["MONGO_URL"])
    assert (app.username, owner.username) == ("preferences_app", "preferences_owner")
    assert app.hostname == owner.hostname == "mongo"
    gateway = env("gateway")
    assert {gateway[k] for k in ("ACCOUNTS_URL", "TRANSACTIONS_URL", "PREFERENCES_URL")} == {
        "http://accounts:8081", "http://transactions:8082", "http://preferences:8083"}


def test_secrets_come_from_the_env_file_and_every_one_is_documented():
    text = COMPOSE_FILE.read_text()
    example = read_env_file(ENV_EXAMPLE)
    required = required_compose_variables(text)
    optional = {name for name, default in compose_variables(text).items() if default is not None}
    # Every variable compose requires is in .env.example, and .env.example lists nothing unused.
    assert required <= set(example), sorted(required - set(example))
    assert set(example) <= required, sorted(set(example) - required)
    commented = set(re.findall(r"(?m)^#\s*(\w+)=", ENV_EXAMPLE.read_text()))
    assert optional <= commented, f"optional settings not documented: {sorted(optional - commented)}"
    for name, value in example.items():
        assert "change-me" in value, f".env.example: {name} looks like a real value"
    # Nothing secret is written into the compose file itself: secret-named variables and the
    # password part of every URL come from ${...}.
    for name, spec in load_compose()["services"].items():
        for key, value in (spec.get("environment") or {}).items():
            value = str(value)
            if re.search(r"PASSWORD|SECRET|KEYS|AUTH", key):
                assert re.fullmatch(r"\$\{\w+:\?[^}]*\}", value), f"{name}: {key}"
            credentials = re.match(r"\w+://([^@/]*)@", value)
            if credentials and ":" in credentials.group(1):
                assert credentials.group(1).split(":", 1)[1].startswith("${"), f"{name}: {key}"
    assert ".env" in (ROOT / ".gitignore").read_text().split()


def test_compose_refuses_to_start_without_a_secret():
    variables = generated_secrets()
    del variables["ACCOUNTS_INTERNAL_TOKEN_SECRET"]
    with pytest.raises(KeyError, match="ACCOUNTS_INTERNAL_TOKEN_SECRET"):
        interpolate(load_compose(), variables)


def test_there_is_no_ferretdb_profile(compose):
    """The product brief overrides the issue: FerretDB loses concurrent updates, so no profile offers it."""
    assert not [name for name, spec in compose["services"].items() if spec.get("profiles")]
    assert not re.search(r"(?i)ferret", COMPOSE_FILE.read_text() + ENV_EXAMPLE.read_text())
    assert compose["services"]["mongo"]["image"] == "mongo:7"
