"""One shape per service: the same files in each, and a domain package that knows no Flask.

The domain is parsed, so a new `import flask` anywhere in it (inside a function too) fails
here whether or not a test runs that code; and imported in a fresh interpreter, so nothing it
imports brings Flask in either.
"""
import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SERVICES = Path(__file__).resolve().parents[2]
SHAPED = ("accounts", "transactions", "preferences")
# The web layer: a domain module imports none of these (services.common.errors instead of problems).
WEB = ("flask", "flask_smorest", "werkzeug", "services.common.problems")


@pytest.mark.parametrize("service", SHAPED)
def test_every_service_has_the_same_layout(service):
    root = SERVICES / service
    assert (root / "app.py").is_file(), "app.py: the factory"
    assert (root / "api" / "__init__.py").is_file(), "api/: the blueprints"
    assert (root / "domain" / "__init__.py").is_file(), "domain/: the rules, Flask-free"
    assert (root / "schemas.py").is_file(), "schemas.py: the marshmallow schemas"
    assert (root / "models.py").is_file() or (root / "store.py").is_file(), "models.py or store.py: the store"
    assert (root / "README.md").is_file(), "README.md: what it owns, where to look, how to test"


def _imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, relative imports resolved against its package."""
    package = path.relative_to(SERVICES.parent).with_suffix("").parts[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else ()
            module = ".".join(base + tuple((node.module or "").split(".") if node.module else ()))
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


DOMAIN_MODULES = sorted(SERVICES.glob("*/domain/**/*.py"))


def test_there_is_a_domain_to_check():
    assert {path.relative_to(SERVICES).parts[0] for path in DOMAIN_MODULES} == set(SHAPED)


@pytest.mark.parametrize("path", DOMAIN_MODULES, ids=lambda p: str(p.relative_to(SERVICES)))
def test_no_domain_module_imports_the_web_layer(path):
    web = {m for m in _imported_modules(path) if any(m == w or m.startswith(w + ".") for w in WEB)}
    assert not web, f"{path.relative_to(SERVICES)} imports {sorted(web)}"


def test_importing_the_whole_domain_loads_no_flask():
    """What the domain imports (services/common's errors, amounts, fields, transient, outbox,
    cursors...) must not bring Flask in either: each domain module is imported in a fresh
    interpreter, and the ones that loaded Flask are named with the import that did."""
    names = [".".join(p.relative_to(SERVICES.parent).with_suffix("").parts).removesuffix(".__init__")
             for p in DOMAIN_MODULES]
    probe = (
        "import importlib, sys, json\n"
        "loaded = {}\n"
        f"for name in {names!r}:\n"
        "    before = set(sys.modules)\n"
        "    importlib.import_module(name)\n"
        "    if 'flask' in sys.modules and 'flask' not in before:\n"
        "        loaded[name] = sorted(m for m in set(sys.modules) - before if m.startswith('services.'))\n"
        "print(json.dumps(loaded))\n")
    result = subprocess.run([sys.executable, "-c", probe], cwd=SERVICES.parent, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(SERVICES.parent)}, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout) == {}, result.stdout
