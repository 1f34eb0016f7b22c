"""The Dockerfiles, read and checked offline (no Docker engine here), and what their images hold.

Each service image is laid out in a temporary directory from its COPY instructions and the
.dockerignore (deploy/tests/support.py: stage_image), then its entry modules are imported and
its app is built from that directory alone, as they would be in the image.
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

from deploy.tests.support import (DEPLOY, JOB_IMAGES, ROOT, SERVICES, compose_service_env, copies,
                                  distributions_of, dockerignore_patterns, env_of, expand_source,
                                  has_registry_host, is_ignored, missing_modules, module_file,
                                  parse_dockerfile, requirements_closure, stage_image,
                                  third_party_imports)

ALL_DOCKERFILES = [spec[0] for spec in SERVICES.values()] + list(JOB_IMAGES.values())
MIGRATING = {"accounts", "transactions", "preferences"}


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    """service -> the image's WORKDIR (/app) laid out on disk."""
    return {name: stage_image(parse_dockerfile(ROOT / spec[0]), tmp_path_factory.mktemp(name))
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

@pytest.mark.parametrize("path", ALL_DOCKERFILES)
def test_copy_sources_exist_and_are_in_the_build_context(path):
    patterns = dockerignore_patterns()
    dockerfile = parse_dockerfile(ROOT / path)
    for stage in dockerfile.stages:
        for copy in copies(stage):
            if "from" in copy.flags:
                continue
            for source in copy.sources:
                matches = expand_source(source)
                assert matches, f"{path}: COPY {source}: no such file in the repository"
                kept = [m for m in matches if not is_ignored(m, patterns)]
                assert kept, f"{path}: COPY {source}: excluded by .dockerignore"


@pytest.mark.parametrize("path", ALL_DOCKERFILES)
def test_runs_as_a_numeric_non_root_user(path):
    user = parse_dockerfile(ROOT / path).final.last("USER")
    assert user is not None, f"{path}: the final stage sets no USER"
    uid = user.args.split(":")[0]
    # Numeric, so Kubernetes' runAsNonRoot can verify it without /etc/passwd.
    assert uid.isdigit() and int(uid) != 0, f"{path}: USER {user.args} is not a numeric non-root uid"


@pytest.mark.parametrize("path", ALL_DOCKERFILES)
def test_base_images_name_no_registry_host(path):
    dockerfile = parse_dockerfile(ROOT / path)
    for stage in dockerfile.stages:
        image = dockerfile.resolve(stage.base)
        if image in {s.name for s in dockerfile.stages if s.name}:
            continue
        assert not has_registry_host(image), f"{path}: FROM {image} names a registry"


# --- the four service images ------------------------------------------------------------------

@pytest.mark.parametrize("service", SERVICES)
def test_multi_stage_on_python_slim_with_a_venv(service):
    path, *_ = SERVICES[service]
    dockerfile = parse_dockerfile(ROOT / path)
    assert len(dockerfile.stages) >= 2
    assert {dockerfile.resolve(s.base) for s in dockerfile.stages} == {"python:3.11-slim"}
    builder = dockerfile.stages[0]
    assert builder.name == "builder"
    runs = " ".join(i.args for i in builder.all("RUN"))
    assert "venv" in runs and "requirements.txt" in runs
    final_copies = copies(dockerfile.final)
    assert any(c.flags.get("from") == "builder" for c in final_copies), "the runtime takes the builder's venv"
    assert not any(s == "requirements-dev.txt" for c in final_copies for s in c.sources)


@pytest.mark.parametrize("service", SERVICES)
def test_runtime_settings(service):
    path, _conf, _factory, port = SERVICES[service]
    final = parse_dockerfile(ROOT / path).final
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
    path, conf, factory, _port = SERVICES[service]
    final = parse_dockerfile(ROOT / path).final
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
    path, *_ = SERVICES[service]
    healthcheck = parse_dockerfile(ROOT / path).final.last("HEALTHCHECK")
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
    healthcheck = parse_dockerfile(ROOT / SERVICES[service][0]).final.last("HEALTHCHECK")
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
    image_env = env_of(parse_dockerfile(ROOT / SERVICES[service][0]).final)
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


def test_third_party_imports_of_each_image_are_installed_from_requirements_txt(staged):
    """The images install requirements.txt only: every third-party module their code imports
    must come from a distribution pinned there (or one of its dependencies)."""
    provided = requirements_closure(ROOT / "requirements.txt")
    missing = {}
    for service, workdir in staged.items():
        for module in sorted(third_party_imports(workdir)):
            distributions = distributions_of(module)
            if distributions and not distributions & provided:
                missing.setdefault(service, set()).add(f"{module} ({', '.join(sorted(distributions))})")
    assert missing == {}, f"imported but not installed by requirements.txt: {missing}"


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
    for service, (path, *_rest) in SERVICES.items():
        targets = {c.dest for c in copies(parse_dockerfile(ROOT / path).final)}
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
                 "database/mongodb/launcher/FinovaMongoServer.java", "requirements-dev.txt",
                 "conftest.py", "docs/x.md"):
        assert is_ignored(path, patterns), path
    for path in ("requirements.txt", "services/common/config.py", "gateway/app.py",
                 "database/migrations/runner.py", "deploy/docker/migrate.sh"):
        assert not is_ignored(path, patterns), path


def test_no_dockerfile_names_a_registry_host_or_ferretdb():
    for path in DEPLOY.rglob("Dockerfile"):
        text = path.read_text()
        assert "ferretdb" not in text.lower()
        for image in re.findall(r"(?m)^(?:FROM|ARG \w+=)\s*(\S+)", text):
            assert not has_registry_host(image), f"{path}: {image}"
