"""The Dockerfiles, read and checked offline (no Docker engine here), and what their images hold.

The four app images come from one Dockerfile (deploy/docker/Dockerfile, build argument APP);
each is laid out in a temporary directory from the COPY instructions of the stages it is made
of and the .dockerignore (deploy/tests/support.py: stage_image), then its entry modules are
imported and its app is built from that directory alone, as they would be in the image. Each
image installs its app's hash-locked requirement set (requirements/<app>.txt), checked here
against what the image's code imports.
"""
from __future__ import annotations

import ast
import http.server
import os
import re
import shlex
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from deploy.tests.support import (APP_DOCKERFILE, DEPLOY, JOB_IMAGES, REQUIREMENTS, ROOT, SERVICES,
                                  compose_service_env, copies, distribution_of_command,
                                  distributions_of, dockerignore_patterns, env_of, expand_source,
                                  has_registry_host, imported_modules, is_ignored, lock_problems,
                                  missing_modules, module_file, normalise, parse_dockerfile,
                                  read_in, read_lock, requirements_closure, stage_image,
                                  third_party_imports)

# Every image build: (Dockerfile, build arguments); the app images are one Dockerfile, four APPs.
BUILDS = [(SERVICES[name][0], {"APP": name}) for name in SERVICES] + \
         [(path, {}) for path in JOB_IMAGES.values()]
BUILD_IDS = list(SERVICES) + list(JOB_IMAGES)
MIGRATING = {"accounts", "transactions", "preferences"}


def image(service: str):
    """The service's image as one stage: the instructions of the stages it is built from."""
    return parse_dockerfile(ROOT / SERVICES[service][0]).image({"APP": service})


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    """service -> the image's WORKDIR (/app) laid out on disk."""
    return {name: stage_image(parse_dockerfile(ROOT / spec[0]), tmp_path_factory.mktemp(name),
                              {"APP": name})
            for name, spec in SERVICES.items()}


def _image_python(workdir: Path, code: str, env: dict[str, str] | None = None,
                  timeout: float = 60) -> subprocess.CompletedProcess:
    """Run code with the suite's interpreter but only the staged image's code importable."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "DATABASE_URL",
                                                                             "MONGO_"))}
    environment.update({"PYTHONPATH": str(workdir), "PYTHONDONTWRITEBYTECODE": "1"}, **(env or {}))
    guard = ("import sys; root = %r; sys.path[:] = [p for p in sys.path "
             "if not p or not (p == root or p.startswith(root + '/')) or '/.venv/' in p]\n" % str(ROOT))
    return subprocess.run([sys.executable, "-c", guard + code], cwd=workdir, env=environment,
                          capture_output=True, text=True, timeout=timeout)


# --- every Dockerfile -------------------------------------------------------------------------

@pytest.mark.parametrize("path,build_args", BUILDS, ids=BUILD_IDS)
def test_copy_sources_exist_and_are_in_the_build_context(path, build_args):
    patterns = dockerignore_patterns()
    dockerfile = parse_dockerfile(ROOT / path)
    for stage in dockerfile.built(build_args):
        for copy in copies(dockerfile.resolved(stage, build_args)):
            if "from" in copy.flags:
                continue
            for source in copy.sources:
                matches = expand_source(source)
                assert matches, f"{path}: COPY {source}: no such file in the repository"
                kept = [m for m in matches if not is_ignored(m, patterns)]
                assert kept, f"{path}: COPY {source}: excluded by .dockerignore"


@pytest.mark.parametrize("path,build_args", BUILDS, ids=BUILD_IDS)
def test_runs_as_a_numeric_non_root_user(path, build_args):
    user = parse_dockerfile(ROOT / path).image(build_args).last("USER")
    assert user is not None, f"{path}: the final stage sets no USER"
    uid = user.args.split(":")[0]
    # Numeric, so Kubernetes' runAsNonRoot can verify it without /etc/passwd.
    assert uid.isdigit() and int(uid) != 0, f"{path}: USER {user.args} is not a numeric non-root uid"


@pytest.mark.parametrize("path,build_args", BUILDS, ids=BUILD_IDS)
def test_base_images_name_no_registry_host(path, build_args):
    dockerfile = parse_dockerfile(ROOT / path)
    for stage in dockerfile.built(build_args):
        base = dockerfile.resolve(stage.base, build_args)
        if dockerfile.stage(base) is not None:
            continue
        assert not has_registry_host(base), f"{path}: FROM {base} names a registry"


# --- the four service images: one Dockerfile, APP chooses ------------------------------------

def test_one_dockerfile_builds_every_app_by_its_build_argument():
    assert {spec[0] for spec in SERVICES.values()} == {APP_DOCKERFILE}
    dockerfile = parse_dockerfile(ROOT / APP_DOCKERFILE)
    # Declared before the first FROM (so FROM may use it) and without a default: a build names its app.
    assert dockerfile.args.get("APP") == "", "ARG APP, with no default, before the first FROM"
    assert dockerfile.final.base == "app-${APP}"
    app_stages = {s.name.removeprefix("app-") for s in dockerfile.stages if s.name and s.name.startswith("app-")}
    assert app_stages == set(SERVICES)
    for service in SERVICES:
        built = {s.name for s in dockerfile.built({"APP": service})}
        # Only the chosen app's stage is built (BuildKit builds what the target needs).
        assert built == {"builder", "runtime", f"app-{service}", dockerfile.final.name}, (service, built)
    # No leftovers: the per-app Dockerfiles are gone; only the job images keep their own.
    assert sorted(str(p.relative_to(ROOT)) for p in DEPLOY.rglob("Dockerfile")) == sorted(
        [APP_DOCKERFILE, *JOB_IMAGES.values()])


@pytest.mark.parametrize("service", SERVICES)
def test_multi_stage_on_python_slim_with_a_venv_from_the_apps_lock(service):
    path, *_ = SERVICES[service]
    dockerfile = parse_dockerfile(ROOT / path)
    build_args = {"APP": service}
    built = dockerfile.built(build_args)
    assert len(built) >= 2
    outside = {dockerfile.resolve(s.base, build_args) for s in built} - {s.name for s in built}
    assert outside == {"python:3.11-slim"}
    assert dockerfile.stage("builder") is not None and built[0].name == "builder"
    builder = dockerfile.resolved(dockerfile.stage("builder"), build_args)
    # The builder installs the app's own lock, and only with every hash checked.
    assert [c.sources for c in copies(builder)] == [[f"requirements/{service}.txt"]]
    lock_target = copies(builder)[0].dest
    installs = [i.args for i in builder.all("RUN") if "pip install" in i.args]
    assert len(installs) == 1, installs
    words = shlex.split(installs[0])
    assert "--require-hashes" in words and "--only-binary=:all:" in words, installs[0]
    assert words[words.index("-r") + 1] == lock_target
    assert "venv" in " ".join(i.args for i in builder.all("RUN"))
    final_copies = copies(dockerfile.image(build_args))
    assert any(c.flags.get("from") == "builder" for c in final_copies), "the runtime takes the builder's venv"
    assert not any(s.startswith("requirements") for c in final_copies for s in c.sources)


@pytest.mark.parametrize("service", SERVICES)
def test_the_entrypoint_is_set_before_the_apps_command(service):
    """An ENTRYPOINT set in a later stage resets the CMD its parent stage set: in the image's
    chain the last ENTRYPOINT must come before the last CMD."""
    instructions = image(service).instructions
    last = {i.keyword: n for n, i in enumerate(instructions)}
    assert last["ENTRYPOINT"] < last["CMD"], service


@pytest.mark.parametrize("service", SERVICES)
def test_runtime_settings(service):
    _path, _conf, _factory, port = SERVICES[service]
    final = image(service)
    env = env_of(final)
    assert env["HOST"] == "0.0.0.0"
    assert env["PORT"] == str(port)
    assert env["PYTHONPATH"] == "/app"
    assert env["PROMETHEUS_MULTIPROC_DIR"]
    assert env["FINOVA_SERVICE"] == service
    assert env["FINOVA_ENV"] == "production"  # weak or published secrets stop the app at start
    assert final.last("STOPSIGNAL").args == "SIGTERM"
    assert str(port) in final.last("EXPOSE").args.split()
    assert final.last("WORKDIR").args == "/app"


@pytest.mark.parametrize("service", SERVICES)
def test_entrypoint_is_gunicorn_with_the_services_config_and_factory(service):
    _path, conf, factory, _port = SERVICES[service]
    final = image(service)
    cmd = final.last("CMD").json_or_shell()
    assert cmd == ["gunicorn", "-c", conf, factory]
    assert (ROOT / conf).is_file()
    module, _, call = factory.partition(":")
    module_path = module_file(module, ROOT)
    assert module_path, f"{module} does not exist"
    function = call.removesuffix("()")
    defined = {n.name for n in ast.parse(module_path.read_text()).body if isinstance(n, ast.FunctionDef)}
    assert function in defined, f"{module} defines no {function}()"
    entrypoint = final.last("ENTRYPOINT").json_or_shell()
    assert entrypoint == ["finova-entrypoint"]


@pytest.mark.parametrize("service", SERVICES)
def test_healthcheck_probes_healthz_with_python(service):
    healthcheck = image(service).last("HEALTHCHECK")
    assert healthcheck is not None
    assert "/healthz" in healthcheck.args
    command = healthcheck.args[healthcheck.args.index("CMD") + 3:].strip()
    assert shlex.split(command)[0] == "python", "slim images have no curl"


class _Health(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, *_args):
        pass


def _healthcheck_code(service: str) -> str:
    healthcheck = image(service).last("HEALTHCHECK")
    command = shlex.split(healthcheck.args[healthcheck.args.index("CMD") + 3:].strip())
    assert command[:2] == ["python", "-c"]
    return command[2]


@pytest.mark.parametrize("service", SERVICES)
def test_healthcheck_command_passes_on_200_and_fails_otherwise(service):
    code = _healthcheck_code(service)
    for status, expected in ((200, 0), (503, 1)):
        handler = type("Handler", (_Health,), {"status": status})
        server = http.server.HTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            env = {**os.environ, "PORT": str(server.server_address[1])}
            result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                                    timeout=20)
        finally:
            server.shutdown()
            server.server_close()
        assert result.returncode == expected, (status, result.stderr)
    # Nothing listening: unhealthy, within the HEALTHCHECK timeout.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    result = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PORT": str(free)},
                            capture_output=True, timeout=20)
    assert result.returncode != 0


def test_each_image_holds_only_its_own_service(staged):
    for service, workdir in staged.items():
        present = {p.name for p in (workdir / "services").iterdir() if p.is_dir()}
        expected = {"common"} | ({service} if service != "gateway" else set())
        assert present == expected, f"{service}: services/ holds {sorted(present)}"
        assert (workdir / "gateway").exists() == (service == "gateway")
        assert not list(workdir.rglob("tests")), f"{service}: tests copied into the image"
        assert not list(workdir.rglob("__pycache__"))
    assert not (staged["accounts"] / "database/migrations/transactions").exists()
    assert not (staged["transactions"] / "database/migrations/accounts").exists()
    assert not (staged["preferences"] / "database/migrations").exists()
    assert not (staged["preferences"] / "database/mongodb/launcher.py").exists()
    assert not (staged["gateway"] / "database").exists()


def test_every_first_party_import_in_an_image_is_in_that_image(staged):
    for service, workdir in staged.items():
        assert missing_modules(workdir) == {}, service


@pytest.mark.parametrize("service", SERVICES)
def test_the_app_builds_from_the_image_contents_and_the_compose_environment(service, staged):
    """With only the staged code importable and exactly the environment docker-compose.yml gives
    the service (secrets generated as .env.example says), load the gunicorn config and build
    the app: a missing file, a missing required setting or a malformed value fails here."""
    _path, conf, factory, port = SERVICES[service]
    module, _, call = factory.partition(":")
    image_env = env_of(image(service))
    env = {"HOST": image_env["HOST"], "PORT": image_env["PORT"], "FINOVA_ENV": image_env["FINOVA_ENV"],
           "OUTBOX_RELAY": "false", **compose_service_env(service)}
    env["OUTBOX_RELAY"] = "false"  # no background thread against a store that is not there
    code = (f"import runpy, {module} as m\n"
            f"conf = runpy.run_path({conf!r})\n"
            f"assert conf['bind'] == '0.0.0.0:{port}', conf['bind']\n"
            f"assert m.__file__.startswith({str(staged[service])!r}), m.__file__\n"
            f"app = m.{call}\n"
            "import flask; assert isinstance(app, flask.Flask)\n"
            "client = app.test_client(); assert client.get('/healthz').status_code == 200\n"
            "print('ok')\n")
    result = _image_python(staged[service], code, env)
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-3000:]


# --- the hash-locked requirement sets the images install (requirements/) ------------------------

LOCKS = sorted(REQUIREMENTS.glob("*.txt"))


def _lock(name: str) -> dict:
    return read_lock(REQUIREMENTS / f"{name}.txt")


def _outside_common(workdir: Path) -> list[Path]:
    common = workdir / "services" / "common"
    return [p for p in workdir.rglob("*.py") if common not in p.parents]


def _needed_distributions(service: str, workdir: Path) -> dict[str, str]:
    """distribution -> why the image needs it: what its code imports (leaving out imports
    guarded by `except ImportError`), the program its CMD runs, and the drivers its code loads
    by URL scheme rather than by import."""
    needed: dict[str, str] = {}
    for module in sorted(third_party_imports(workdir, guarded=False)):
        distributions = distributions_of(module)
        assert distributions, f"{service}: imports {module}, which no installed distribution provides"
        for distribution in distributions:
            needed.setdefault(distribution, f"import {module}")
    program = image(service).last("CMD").json_or_shell()[0]
    for distribution in distribution_of_command(program):
        needed.setdefault(distribution, f"CMD {program}")
    # PostgreSQL: services.common.sql (and the Alembic environment through it) turns postgresql://
    # into postgresql+psycopg://, so SQLAlchemy loads psycopg for an app that makes engines.
    if any("services.common.sql" in imported_modules(p, workdir) for p in _outside_common(workdir)):
        needed.setdefault("psycopg", "postgresql+psycopg engines (services.common.sql)")
    # Flask-Limiter storage from a redis:// URL (a setting that takes one, a Limiter given it as
    # storage_uri): limits loads the redis client by scheme.
    code = "\n".join(p.read_text() for p in _outside_common(workdir))
    if "storage_uri" in code and "redis://" in code:
        needed.setdefault("redis", "rate-limit storage from a redis:// URL")
    return needed


def test_there_is_a_lock_for_every_app_and_for_development():
    assert {p.stem for p in LOCKS} == set(SERVICES) | {"dev"}
    for lock in LOCKS:
        assert lock.with_suffix(".in").is_file(), f"{lock.name} is compiled from {lock.stem}.in"


@pytest.mark.parametrize("lock", LOCKS, ids=lambda p: p.name)
def test_every_line_of_every_lock_is_an_exact_pin_with_hashes(lock):
    """pip install --require-hashes takes nothing else; no option line (index, find-links, -e,
    -r) lets a lock install from anywhere but the configured index."""
    assert lock_problems(lock) == []
    assert read_lock(lock), f"{lock.name} pins nothing"


@pytest.mark.parametrize("name", [*SERVICES, "dev"])
def test_each_lock_pins_what_its_in_file_asks_for(name):
    pins = _lock(name)
    for requirement in read_in(REQUIREMENTS / f"{name}.in"):
        pin = pins.get(normalise(requirement.name))
        assert pin, f"{name}.txt lacks {requirement.name}: recompile it (make lock)"
        assert pin.version in requirement.specifier, f"{name}.txt: {requirement.name}=={pin.version}, {requirement}"
    # The lock is exactly what its requirements resolve to: nothing left over from an older set.
    assert set(pins) == requirements_closure(read_in(REQUIREMENTS / f"{name}.in")), name


@pytest.mark.parametrize("service", SERVICES)
def test_each_apps_lock_holds_what_its_image_uses(service, staged):
    needed = _needed_distributions(service, staged[service])
    missing = {d: why for d, why in needed.items() if d not in _lock(service)}
    assert missing == {}, f"requirements/{service}.txt lacks what the image uses: {missing}"


@pytest.mark.parametrize("service", SERVICES)
def test_each_apps_lock_holds_only_what_its_image_uses(service, staged):
    """Every requirement in the app's set is used by its image (imported, run or loaded), and the
    lock holds only those and their dependencies."""
    needed = _needed_distributions(service, staged[service])
    asked = {normalise(r.name) for r in read_in(REQUIREMENTS / f"{service}.in")}
    unused = asked - set(needed)
    assert not unused, f"requirements/{service}.in asks for what the image does not use: {sorted(unused)}"
    extra = set(_lock(service)) - requirements_closure(read_in(REQUIREMENTS / f"{service}.in"))
    assert not extra, f"requirements/{service}.txt: {sorted(extra)} are needed by nothing asked for"


def test_no_apps_lock_carries_another_apps_own_packages():
    common = {normalise(r.name) for r in read_in(REQUIREMENTS / "common.in")}
    own = {app: {normalise(r.name) for r in read_in(REQUIREMENTS / f"{app}.in")} - common for app in SERVICES}
    for app in SERVICES:
        pins = set(_lock(app))
        for other in SERVICES:
            foreign = (own[other] - own[app]) & pins
            assert not foreign, f"requirements/{app}.txt carries {other}'s {sorted(foreign)}"
    # As the apps' code stands: only the PostgreSQL apps carry the driver and Alembic, only the
    # gateway its rate limiter, only accounts argon2, only transactions RE2, only preferences pymongo.
    holders = lambda package: {app for app in SERVICES if package in _lock(app)}  # noqa: E731
    assert holders("psycopg-binary") == holders("alembic") == {"accounts", "transactions"}
    assert holders("schwifty") == {"accounts", "transactions"}
    assert holders("argon2-cffi") == {"accounts"}
    assert holders("google-re2") == {"transactions"}
    assert holders("pymongo") == holders("langcodes") == {"preferences"}
    assert holders("flask-limiter") == holders("redis") == {"gateway"}


def test_the_development_lock_pins_every_apps_packages_alike():
    """One venv runs the whole suite in development and tests: it must install what each image
    installs, at the same version and from the same files (the same hashes)."""
    dev = _lock("dev")
    asked = {normalise(r.name) for r in read_in(REQUIREMENTS / "dev.in")}
    for app in SERVICES:
        assert {normalise(r.name) for r in read_in(REQUIREMENTS / f"{app}.in")} <= asked, app
        for name, pin in _lock(app).items():
            assert name in dev, f"requirements/dev.txt lacks {name} ({app})"
            assert dev[name].version == pin.version, f"{name}: dev {dev[name].version}, {app} {pin.version}"
            assert dev[name].hashes == pin.hashes, f"{name}: dev.txt and {app}.txt differ in hashes"


@pytest.mark.skipif(not __import__("shutil").which("make"), reason="make is not installed")
def test_make_install_takes_the_development_lock_with_hashes():
    """make install (a fresh venv, or one whose stamp is stale) runs pip on requirements/dev.txt
    with --require-hashes, and its stamp is named after the lock's digest."""
    import hashlib
    make = ["make", "--no-print-directory", "-C", str(ROOT)]
    stamp = subprocess.run([*make, "--eval", "__finova_stamp: ; @echo $(STAMP)", "__finova_stamp"],
                           capture_output=True, text=True, check=True).stdout.strip()
    digest = hashlib.sha256((REQUIREMENTS / "dev.txt").read_bytes()).hexdigest()[:12]
    assert stamp == f".venv/.installed-{digest}", stamp
    recipe = subprocess.run([*make, "-n", "-B", stamp], capture_output=True, text=True).stdout
    installs = [line for line in recipe.splitlines() if "pip install" in line]
    assert installs and all("--require-hashes" in line and "-r requirements/dev.txt" in line
                            for line in installs), recipe
    for obsolete in ("requirements.txt", "requirements-dev.txt"):
        assert not (ROOT / obsolete).exists(), f"{obsolete}: the sets live in requirements/"


@pytest.mark.parametrize("service", sorted(MIGRATING))
def test_the_migration_entry_modules_import_from_the_image(service, staged):
    modules = (["database.migrations.runner", "database.migrations.env_common",
                "database.migrations.baseline_ops", f"services.{service}.models"]
               if service != "preferences" else ["database.mongodb.migrate"])
    code = "import importlib\n" + "".join(f"importlib.import_module({m!r})\n" for m in modules)
    if service != "preferences":
        # The Alembic environment and revisions are found where the runner looks for them.
        code += (f"from database.migrations.runner import alembic_config\n"
                 f"from alembic.script import ScriptDirectory\n"
                 f"heads = ScriptDirectory.from_config(alembic_config({service!r}, 'postgresql://x')).get_heads()\n"
                 "assert heads, 'no revisions'\n")
    else:
        code += ("from database.mongodb.migrate import load_migrations\n"
                 "assert load_migrations(), 'no migrations'\n")
    result = _image_python(staged[service], code + "print('ok')\n")
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-3000:]


# --- the scripts the images carry ---------------------------------------------------------------

SCRIPTS = [DEPLOY / "docker/entrypoint.sh", DEPLOY / "docker/migrate.sh", DEPLOY / "postgres/provision.sh"]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_shell_scripts_parse_and_are_executable(script):
    assert script.stat().st_mode & stat.S_IXUSR
    assert script.read_text().startswith("#!/bin/sh\n")
    subprocess.run(["sh", "-n", str(script)], check=True)


def _fake_python(tmp_path: Path) -> dict[str, str]:
    """A PATH whose `python` prints its arguments instead of running anything."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "python"
    fake.write_text('#!/bin/sh\necho "python $*"\n')
    fake.chmod(0o755)
    return {"PATH": f"{bin_dir}:/usr/bin:/bin"}


@pytest.mark.parametrize("service,args,expected", [
    ("accounts", [], "python -m database.migrations.runner accounts upgrade head"),
    ("transactions", ["downgrade", "transactions_0001"],
     "python -m database.migrations.runner transactions downgrade transactions_0001"),
    ("accounts", ["current"], "python -m database.migrations.runner accounts current"),
    ("preferences", [], "python -m database.mongodb.migrate --db preferences"),
    ("preferences", ["upgrade"], "python -m database.mongodb.migrate --db preferences"),
])
def test_migrate_command_dispatches_per_service(tmp_path, service, args, expected):
    env = {**_fake_python(tmp_path), "FINOVA_SERVICE": service}
    result = subprocess.run(["sh", str(DEPLOY / "docker/migrate.sh"), *args], env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected
    module = expected.split()[2]
    assert module_file(module, ROOT), f"{module} does not exist"


@pytest.mark.parametrize("service,args", [("preferences", ["downgrade", "1"]), ("gateway", [])])
def test_migrate_command_refuses_what_does_not_exist(tmp_path, service, args):
    env = {**_fake_python(tmp_path), "FINOVA_SERVICE": service}
    result = subprocess.run(["sh", str(DEPLOY / "docker/migrate.sh"), *args], env=env,
                            capture_output=True, text=True)
    assert result.returncode == 2 and not result.stdout


def test_migrate_command_is_in_the_images_that_migrate():
    for service in SERVICES:
        targets = {c.dest for c in copies(image(service))}
        assert ("/usr/local/bin/migrate" in targets) == (service in MIGRATING), service


def test_entrypoint_empties_the_metrics_dir_then_runs_the_command(tmp_path):
    metrics = tmp_path / "prometheus"
    metrics.mkdir()
    (metrics / "counter_123.db").write_text("stale")
    (metrics / "keep.txt").write_text("not ours")
    env = {"PATH": os.environ["PATH"], "PROMETHEUS_MULTIPROC_DIR": str(metrics)}
    result = subprocess.run(["sh", str(DEPLOY / "docker/entrypoint.sh"), "echo", "started"], env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout == "started\n"
    assert sorted(p.name for p in metrics.iterdir()) == ["keep.txt"]
    fresh = tmp_path / "absent"
    env["PROMETHEUS_MULTIPROC_DIR"] = str(fresh)
    subprocess.run(["sh", str(DEPLOY / "docker/entrypoint.sh"), "true"], env=env, check=True)
    assert fresh.is_dir()


@pytest.mark.skipif(not __import__("shutil").which("node"), reason="node is not installed")
def test_mongo_provision_script_is_valid_javascript():
    subprocess.run(["node", "--check", str(DEPLOY / "mongo/provision.js")], check=True)


def test_dockerignore_keeps_secrets_tests_and_local_state_out():
    patterns = dockerignore_patterns()
    for path in (".env", ".venv/bin/python", ".data/x", ".git/config", "services/common/tests/test_x.py",
                 "gateway/tests/test_x.py", "services/accounts/__pycache__/app.cpython-311.pyc",
                 "deploy/tests/test_compose.py", "deploy/k8s/base/kustomization.yaml",
                 "database/mongodb/launcher/FinovaMongoServer.java", "requirements/dev.txt",
                 "requirements/dev.in", "requirements/accounts.in", "conftest.py", "docs/x.md"):
        assert is_ignored(path, patterns), path
    for path in (*(f"requirements/{app}.txt" for app in SERVICES), "services/common/config.py", "gateway/app.py",
                 "database/migrations/runner.py", "deploy/docker/migrate.sh"):
        assert not is_ignored(path, patterns), path


def test_no_dockerfile_names_a_registry_host_or_ferretdb():
    for path in DEPLOY.rglob("Dockerfile"):
        text = path.read_text()
        assert "ferretdb" not in text.lower()
        for image in re.findall(r"(?m)^(?:FROM|ARG \w+=)\s*(\S+)", text):
            assert not has_registry_host(image), f"{path}: {image}"
