"""Helpers for the deploy tests: Dockerfiles, .dockerignore, app settings, image staging.

Everything here reads files only; nothing talks to a Docker engine (there is none here).
"""
from __future__ import annotations

import ast
import functools
import fnmatch
import glob
import os
import re
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"

# The app images: one Dockerfile, the app chosen by its build argument APP.
APP_DOCKERFILE = "deploy/docker/Dockerfile"
# The images of the suite: name (= APP) -> (Dockerfile, gunicorn config, app factory, port).
SERVICES = {
    "accounts": (APP_DOCKERFILE, "services/accounts/gunicorn.conf.py",
                 "services.accounts.app:create_app()", 8081),
    "transactions": (APP_DOCKERFILE, "services/transactions/gunicorn.conf.py",
                     "services.transactions.app:create_app()", 8082),
    "preferences": (APP_DOCKERFILE, "services/preferences/gunicorn.conf.py",
                    "services.preferences.app:create_app()", 8083),
    "gateway": (APP_DOCKERFILE, "gateway/gunicorn.conf.py",
                "gateway.app:create_app()", 8080),
}
JOB_IMAGES = {
    "postgres-provision": "deploy/postgres/Dockerfile",
    "mongo-provision": "deploy/mongo/Dockerfile",
}
REQUIREMENTS = ROOT / "requirements"
FIRST_PARTY = ("services", "gateway", "database", "devstack", "tests", "deploy", "bench")

# Settings the gateway will read once its rate limits land; the deploy files already wire it.
# Remove a name from here once gateway/app.py declares it.
PENDING_SETTINGS = {"gateway": {"REDIS_URL"}}


# --- Dockerfiles ------------------------------------------------------------------------------

@dataclass
class Instruction:
    keyword: str
    args: str
    line: int

    def json_or_shell(self) -> list[str]:
        """Exec form as a list, or the shell form as one string in a list."""
        text = self.args.strip()
        if text.startswith("["):
            import json
            return json.loads(text)
        return [text]


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction | None:
        found = self.all(keyword)
        return found[-1] if found else None


@dataclass
class Dockerfile:
    path: Path
    args: dict[str, str]  # ARGs before the first FROM, with their defaults ("" for none)
    stages: list[Stage]

    @property
    def final(self) -> Stage:
        return self.stages[-1]

    def resolve(self, text: str, build_args: dict[str, str] | None = None) -> str:
        values = {**self.args, **(build_args or {})}
        return re.sub(r"\$\{(\w+)\}|\$(\w+)",
                      lambda m: values.get(m.group(1) or m.group(2), m.group(0)), text)

    def stage(self, name: str) -> Stage | None:
        return next((s for s in self.stages if s.name == name), None)

    def chain(self, build_args: dict[str, str] | None = None, target: Stage | None = None) -> list[Stage]:
        """The stages an image is made of, its first (on an outside image) to `target` (the last
        stage by default): each stage's FROM, build arguments put in, names the one before."""
        stage = target or self.final
        chain = [stage]
        while (parent := self.stage(self.resolve(stage.base, build_args))) is not None:
            assert all(parent is not s for s in chain), f"{self.path}: FROM loop at {parent.name}"
            chain.insert(0, stage := parent)
        return chain

    def built(self, build_args: dict[str, str] | None = None) -> list[Stage]:
        """Every stage a build of the last stage needs (what BuildKit builds): its chain and,
        through COPY --from, the chains of the stages it copies from."""
        needed: list[Stage] = []
        pending = [self.final]
        while pending:
            for stage in self.chain(build_args, pending.pop()):
                if any(stage is s for s in needed):
                    continue
                needed.append(stage)
                for copy in copies(self.resolved(stage, build_args)):
                    source = self.stage(copy.flags.get("from", ""))
                    if source is not None and not any(source is s for s in needed):
                        pending.append(source)
        return [s for s in self.stages if any(s is n for n in needed)]

    def resolved(self, stage: Stage, build_args: dict[str, str] | None = None) -> Stage:
        """The stage with its base and the ARGs it declares (global ones it re-declares,
        given by build_args or their defaults) put into its instructions."""
        declared: dict[str, str] = {}
        instructions = []
        for instruction in stage.instructions:
            text = re.sub(r"\$\{(\w+)\}|\$(\w+)",
                          lambda m: declared.get(m.group(1) or m.group(2), m.group(0)), instruction.args)
            if instruction.keyword == "ARG":
                key, has_default, default = text.partition("=")
                key = key.strip()
                if key in (build_args or {}):
                    declared[key] = build_args[key]
                elif has_default:
                    declared[key] = default.strip()
                else:  # a global ARG re-declared: its default before the first FROM, if any
                    declared[key] = self.args.get(key, "")
            instructions.append(Instruction(instruction.keyword, text, instruction.line))
        return Stage(base=self.resolve(stage.base, build_args), name=stage.name,
                     instructions=instructions)

    def image(self, build_args: dict[str, str] | None = None) -> Stage:
        """The image the build makes, as one stage: its chain's instructions in order (arguments
        resolved), on the outside image the first stage starts from."""
        chain = [self.resolved(s, build_args) for s in self.chain(build_args)]
        return Stage(base=chain[0].base, name=chain[-1].name,
                     instructions=[i for stage in chain for i in stage.instructions])


def logical_lines(text: str) -> list[tuple[int, str]]:
    """Dockerfile lines with continuations joined and comments dropped."""
    lines: list[tuple[int, str]] = []
    buffer, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not buffer and (not stripped or stripped.startswith("#")):
            continue
        if buffer and stripped.startswith("#"):
            continue  # comment lines inside a continued instruction are dropped
        if not buffer:
            start = number
        if stripped.endswith("\\"):
            buffer += stripped[:-1] + " "
            continue
        buffer += stripped
        lines.append((start, buffer))
        buffer = ""
    if buffer:
        lines.append((start, buffer))
    return lines


def parse_dockerfile(path: Path) -> Dockerfile:
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for number, line in logical_lines(path.read_text()):
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            parts = rest.split()
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(base=parts[0], name=name))
            continue
        if not stages:
            if keyword == "ARG":
                key, _, default = rest.partition("=")
                args[key.strip()] = default.strip()
            continue
        stages[-1].instructions.append(Instruction(keyword, rest.strip(), number))
    return Dockerfile(path=path, args=args, stages=stages)


@dataclass
class Copy:
    sources: list[str]
    dest: str
    flags: dict[str, str]


def copies(stage: Stage) -> list[Copy]:
    found = []
    for instruction in stage.all("COPY"):
        words = shlex.split(instruction.args)
        flags = {}
        while words and words[0].startswith("--"):
            key, _, value = words.pop(0)[2:].partition("=")
            flags[key] = value
        found.append(Copy(sources=words[:-1], dest=words[-1], flags=flags))
    return found


def env_of(stage: Stage) -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction in stage.all("ENV"):
        for word in shlex.split(instruction.args):
            key, _, value = word.partition("=")
            env[key] = value
    return env


# --- .dockerignore (Docker's patternmatcher semantics, enough for our patterns) -----------------

def _pattern_regex(pattern: str) -> re.Pattern:
    out, i = "", 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
            continue
        if pattern.startswith("**", i):
            out += ".*"
            i += 2
            continue
        if char == "*":
            out += "[^/]*"
        elif char == "?":
            out += "[^/]"
        elif char == "[":
            end = pattern.index("]", i)
            out += pattern[i:end + 1]
            i = end + 1
            continue
        else:
            out += re.escape(char)
        i += 1
    return re.compile(out + r"\Z")


def dockerignore_patterns(path: Path = ROOT / ".dockerignore") -> list[tuple[bool, re.Pattern]]:
    patterns = []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        line = os.path.normpath(line.lstrip("!").strip()).lstrip("/")
        patterns.append((negate, _pattern_regex(line)))
    return patterns


def is_ignored(relative: str, patterns: list[tuple[bool, re.Pattern]]) -> bool:
    """True when the build context leaves `relative` (a path from the repo root) out."""
    parts = Path(relative).parts
    candidates = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    ignored = False
    for negate, regex in patterns:
        if any(regex.match(candidate) for candidate in candidates):
            ignored = not negate
    return ignored


def context_files(patterns) -> list[str]:
    """Every file of the build context (the repo, as git sees it plus untracked files)."""
    files = []
    for dirpath, dirnames, filenames in os.walk(ROOT):
        rel_dir = os.path.relpath(dirpath, ROOT)
        dirnames[:] = [d for d in dirnames if d not in (".git", ".venv", ".data", ".cache")]
        for name in filenames:
            rel = os.path.normpath(os.path.join(rel_dir, name))
            if not is_ignored(rel, patterns):
                files.append(rel)
    return files


def expand_source(source: str) -> list[str]:
    """A COPY source (relative to the context, may be a glob) as the paths it names."""
    return sorted(os.path.relpath(p, ROOT) for p in glob.glob(str(ROOT / source)))


def stage_image(dockerfile: Dockerfile, into: Path, build_args: dict[str, str] | None = None) -> Path:
    """Lay out the image's COPYs (all stages of its chain) from the build context into `into`,
    as the image would hold them. Returns the WORKDIR inside `into`. Files the .dockerignore
    leaves out are not copied; COPY --from (the builder's venv) is not laid out.
    """
    patterns = dockerignore_patterns()
    workdir = "/"
    stage = dockerfile.image(build_args)
    for instruction in stage.instructions:
        if instruction.keyword == "WORKDIR":
            workdir = os.path.join(workdir, instruction.args.strip())
        if instruction.keyword != "COPY":
            continue
        copy = copies(Stage(stage.base, stage.name, [instruction]))[0]
        if "from" in copy.flags:
            continue
        dest = copy.dest if copy.dest.startswith("/") else os.path.join(workdir, copy.dest)
        for source in copy.sources:
            for rel in expand_source(source):
                src = ROOT / rel
                if src.is_dir():
                    for dirpath, _dirs, files in os.walk(src):
                        for name in files:
                            file_rel = os.path.relpath(os.path.join(dirpath, name), ROOT)
                            if is_ignored(file_rel, patterns):
                                continue
                            inner = os.path.relpath(os.path.join(dirpath, name), src)
                            _place(ROOT / file_rel, into, os.path.join(dest, inner))
                elif not is_ignored(rel, patterns):
                    target = os.path.join(dest, src.name) if copy.dest.endswith("/") else dest
                    _place(src, into, target)
    return into / workdir.lstrip("/")


def _place(src: Path, root: Path, absolute: str) -> None:
    target = root / absolute.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, target)


def has_registry_host(image: str) -> bool:
    """True for references like host.tld/name or host:5000/name (a registry is named)."""
    first, _, rest = image.partition("/")
    return bool(rest) and ("." in first or ":" in first or first == "localhost")


# --- app settings -----------------------------------------------------------------------------

@dataclass(frozen=True)
class SettingInfo:
    name: str
    required: bool


def _settings_in(path: Path, variable: str) -> list[SettingInfo]:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == variable for t in node.targets):
            found = []
            for call in ast.walk(node.value):
                if isinstance(call, ast.Call) and getattr(call.func, "id", None) == "Setting":
                    if not isinstance(call.args[0], ast.Constant):
                        continue  # a computed name (an f-string per upstream): optional ones only
                    name = call.args[0].value
                    has_default = len(call.args) >= 3 or any(k.arg == "default" for k in call.keywords)
                    found.append(SettingInfo(name, required=not has_default))
            return found
    return []


def app_settings(service: str) -> list[SettingInfo]:
    """The settings an app declares: services/common/config.py's COMMON_SETTINGS + its SETTINGS."""
    package = ROOT / ("gateway" if service == "gateway" else f"services/{service}")
    # SETTINGS lives in app.py, or in settings.py beside it once the list outgrows the factory.
    declared = _settings_in(package / "app.py", "SETTINGS")
    if not declared and (package / "settings.py").is_file():
        declared = _settings_in(package / "settings.py", "SETTINGS")
    return _settings_in(ROOT / "services/common/config.py", "COMMON_SETTINGS") + declared


def environ_reads(*paths: Path) -> set[str]:
    """Variable names read with os.environ.get / os.environ[...] / os.getenv in those files."""
    names: set[str] = set()
    pattern = re.compile(r"""(?:environ\.get|getenv|environ\[)\(?\s*["'](\w+)["']""")
    for path in paths:
        names.update(pattern.findall(path.read_text()))
    return names


def process_settings() -> set[str]:
    """Variables read outside the Setting lists: gunicorn's config and the metrics module."""
    return environ_reads(ROOT / "services/common/gunicorn_defaults.py",
                         ROOT / "services/common/metrics.py")


def readable_env(service: str) -> set[str]:
    return {s.name for s in app_settings(service)} | process_settings()


def shell_env_reads(path: Path) -> set[str]:
    """${NAME...} and $NAME references in a shell script."""
    return set(re.findall(r"\$\{?([A-Z_][A-Z0-9_]*)", path.read_text()))


def migrate_env(service: str) -> set[str]:
    """What the `migrate` command of a service image reads from the environment."""
    script = DEPLOY / "docker/migrate.sh"
    if service in ("accounts", "transactions"):
        modules = [ROOT / "database/migrations/runner.py", ROOT / "database/migrations/env_common.py"]
    else:
        modules = [ROOT / "database/mongodb/migrate.py"]
    return environ_reads(*modules) | (shell_env_reads(script) - {"FINOVA_SERVICE"})


def module_file(module: str, root: Path) -> Path | None:
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_modules(path: Path, root: Path) -> set[str]:
    """Every module name an import in `path` (a file under `root`) may load, relative imports
    resolved: `from a.b import c` gives a.b and a.b.c (c may be a submodule)."""
    tree = ast.parse(path.read_text())
    package = list(path.relative_to(root).parent.parts)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                prefix = package[:len(package) - (node.level - 1)]
                base = ".".join(prefix + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] in FIRST_PARTY}


def missing_modules(stage_root: Path) -> dict[str, set[str]]:
    """First-party modules that files in the staged image import but the image lacks.

    A name counts when it is a module in the repository (so attributes imported with
    `from x import name` are not mistaken for modules) and absent under `stage_root`.
    """
    missing: dict[str, set[str]] = {}
    for path in stage_root.rglob("*.py"):
        for name in imported_modules(path, stage_root):
            if module_file(name, ROOT) and not module_file(name, stage_root):
                missing.setdefault(str(path.relative_to(stage_root)), set()).add(name)
    return missing


def fnmatch_any(name: str, patterns) -> bool:
    return any(fnmatch.fnmatch(name, p) for p in patterns)


# --- docker-compose.yml -----------------------------------------------------------------------

COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
_INTERPOLATION = re.compile(r"\$(?:\$|\{(\w+)(?:(:?[-?])([^}]*))?\}|(\w+))")


def load_compose() -> dict:
    import yaml
    return yaml.safe_load(COMPOSE_FILE.read_text())


def _without_comment_lines(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def compose_variables(text: str | None = None) -> dict[str, str | None]:
    """Variables the compose file interpolates: name -> None (required or plain) or its default."""
    text = _without_comment_lines(COMPOSE_FILE.read_text() if text is None else text)
    found: dict[str, str | None] = {}
    for match in _INTERPOLATION.finditer(text):
        name = match.group(1) or match.group(4)
        if not name:
            continue  # $$
        default = match.group(3) if match.group(2) in ("-", ":-") else None
        found.setdefault(name, default)
    return found


def required_compose_variables(text: str | None = None) -> set[str]:
    text = _without_comment_lines(COMPOSE_FILE.read_text() if text is None else text)
    return {m.group(1) for m in _INTERPOLATION.finditer(text) if m.group(2) in ("?", ":?")}


def interpolate(value, variables: dict[str, str]):
    """Compose-style interpolation of a loaded value (strings inside dicts and lists)."""
    if isinstance(value, dict):
        return {k: interpolate(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, variables) for v in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(4)
        operator, argument = match.group(2), match.group(3)
        current = variables.get(name)
        if operator in (":?", "?") and not current:
            raise KeyError(f"{name}: {argument}")
        if operator in (":-", "-") and not current:
            return argument
        return current or ""
    return _INTERPOLATION.sub(substitute, value)


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip()
    return values


def generated_secrets() -> dict[str, str]:
    """Valid values for every variable .env.example lists, as an operator would make them."""
    import secrets as random_secrets

    from cryptography.fernet import Fernet
    from services.common.service_auth import generate_signing_key, trusted_keys_text
    values = {}
    internal_keys = {}
    for name in read_env_file(ENV_EXAMPLE):
        if name.endswith("_INTERNAL_TOKEN_SECRET"):
            internal_keys[name.removesuffix("_INTERNAL_TOKEN_SECRET").lower()] = values[name] = generate_signing_key()
        elif name == "INTERNAL_TRUSTED_KEYS":
            continue  # the public keys of the ones above, once they are made
        elif name == "PII_ENCRYPTION_KEYS":
            values[name] = "v1:" + Fernet.generate_key().decode()
        elif name == "JWT_SIGNING_KEYS":
            values[name] = "k1:" + random_secrets.token_hex(32)
        else:
            values[name] = random_secrets.token_hex(32)
    values["INTERNAL_TRUSTED_KEYS"] = trusted_keys_text(internal_keys)
    return values


def compose_service_env(service: str, variables: dict[str, str] | None = None) -> dict[str, str]:
    """The environment compose gives a service, interpolated (with generated secrets by default)."""
    variables = generated_secrets() if variables is None else variables
    environment = load_compose()["services"][service].get("environment", {})
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return {k: str(v) for k, v in interpolate(environment, variables).items()}


# --- third-party dependencies of an image -------------------------------------------------------

def _guarded_imports(tree: ast.AST) -> set[int]:
    """ids of import nodes inside a `try:` whose handlers catch ImportError (optional imports)."""
    guarded: set[int] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Try):
            continue
        caught = set()
        for handler in node.handlers:
            kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
            caught.update(getattr(kind, "id", None) for kind in kinds)
        if caught & {"ImportError", "ModuleNotFoundError"}:
            guarded.update(id(inner) for statement in node.body for inner in ast.walk(statement))
    return guarded


def third_party_imports(root: Path, guarded: bool = True) -> set[str]:
    """Names of non-first-party, non-stdlib modules imported by files under root, as written
    (dotted); guarded=False leaves out imports made optional by a try/except ImportError."""
    import sys
    names: set[str] = set()
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text())
        optional = set() if guarded else _guarded_imports(tree)
        for node in ast.walk(tree):
            if id(node) in optional:
                continue
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                # `from opentelemetry import trace` imports the submodule opentelemetry.trace.
                names.update(_imported_from(node.module, alias.name) for alias in node.names)
    return {n for n in names if n.split(".")[0] not in FIRST_PARTY
            and n.split(".")[0] not in sys.stdlib_module_names and n != "__future__"}


def _imported_from(module: str, name: str) -> str:
    """`module.name` when that is a module of its own, else `module`."""
    import importlib.util
    try:
        return f"{module}.{name}" if importlib.util.find_spec(f"{module}.{name}") else module
    except (ImportError, ValueError):
        return module


def distributions_of(module: str) -> set[str]:
    """The distributions an import of `module` (dotted) needs. A top-level name several
    distributions share (a namespace package: opentelemetry) is narrowed to the distribution
    whose files hold the module itself."""
    from importlib.metadata import packages_distributions
    top = module.split(".")[0]
    candidates = {normalise(d) for d in packages_distributions().get(top, [])}
    if len(candidates) <= 1 or module == top:
        return candidates
    holder = _distribution_holding(module)
    return {holder} if holder else candidates


@functools.lru_cache(maxsize=None)
def _distribution_holding(module: str) -> str | None:
    import importlib.util
    from importlib.metadata import distributions
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    origin = Path(spec.origin).resolve()
    for distribution in distributions():
        for file in distribution.files or ():
            if Path(distribution.locate_file(file)).resolve() == origin:
                return normalise(distribution.metadata["Name"])
    return None


def distribution_of_command(command: str) -> set[str]:
    """Distributions whose console_scripts entry point is `command` (gunicorn -> gunicorn)."""
    from importlib.metadata import entry_points
    return {normalise(e.dist.name) for e in entry_points(group="console_scripts", name=command)
            if e.dist is not None}


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements_closure(requirements) -> set[str]:
    """Distributions pip installs for these requirements (packaging Requirement objects): them
    and their dependencies (with the extras asked for), read from the installed packages'
    metadata, markers evaluated for this interpreter."""
    from importlib.metadata import PackageNotFoundError, requires
    from packaging.requirements import Requirement

    pending = [(r.name, frozenset(r.extras)) for r in requirements]
    seen: set[tuple[str, frozenset[str]]] = set()
    names: set[str] = set()
    while pending:
        name, extras = pending.pop()
        if (normalise(name), extras) in seen:
            continue
        seen.add((normalise(name), extras))
        names.add(normalise(name))
        try:
            declared = requires(name) or []
        except PackageNotFoundError:
            continue
        for text in declared:
            requirement = Requirement(text)
            marker = requirement.marker
            if marker is None or any(marker.evaluate({"extra": e}) for e in (extras or {""})):
                pending.append((requirement.name, frozenset(requirement.extras)))
    return names


# --- the requirement sets and their hash-locked files (requirements/) ---------------------------

@dataclass(frozen=True)
class Pin:
    name: str  # normalised
    version: str
    hashes: frozenset[str]
    line: int
    text: str


def _requirement_lines(path: Path) -> list[tuple[int, str]]:
    """Logical lines of a requirements file: continuations joined, comments and blanks dropped."""
    lines: list[tuple[int, str]] = []
    buffer, start = "", 0
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        text = raw.split(" #", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if not buffer and not text.strip():
            continue
        if not buffer:
            start = number
        if text.endswith("\\"):
            buffer += text[:-1].strip() + " "
            continue
        buffer += text.strip()
        lines.append((start, buffer.strip()))
        buffer = ""
    if buffer.strip():
        lines.append((start, buffer.strip()))
    return lines


_PINNED = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!_-]+)")


def lock_problems(path: Path) -> list[str]:
    """What makes a lock file unfit for `pip install --require-hashes`, or lets it fetch from
    anywhere but the configured index: anything but `name==version --hash=sha256:...` lines."""
    problems = []
    for number, text in _requirement_lines(path):
        first, *options = text.split()
        if not _PINNED.fullmatch(first):
            problems.append(f"{path.name}:{number}: not an exact pin without extras: {first}")
        hashes = [o for o in options if o.startswith("--hash=sha256:")]
        others = [o for o in options if not o.startswith("--hash=sha256:")]
        if not hashes:
            problems.append(f"{path.name}:{number}: {first} has no --hash")
        if others:
            problems.append(f"{path.name}:{number}: {first}: unexpected {' '.join(others)}")
        for digest in hashes:
            if not re.fullmatch(r"--hash=sha256:[0-9a-f]{64}", digest):
                problems.append(f"{path.name}:{number}: malformed {digest}")
    return problems


def read_lock(path: Path) -> dict[str, Pin]:
    """A lock file's pins by normalised name."""
    pins: dict[str, Pin] = {}
    for number, text in _requirement_lines(path):
        first, *options = text.split()
        match = _PINNED.fullmatch(first)
        if not match:
            continue
        name = normalise(match.group(1))
        assert name not in pins, f"{path.name}: {name} pinned twice"
        pins[name] = Pin(name, match.group(2),
                         frozenset(o.split("=", 1)[1] for o in options if o.startswith("--hash=")),
                         number, text)
    return pins


def read_in(path: Path):
    """The requirements of a requirements/*.in file, following its -r includes (packaging
    Requirement objects; -c constraints are not requirements and are skipped)."""
    from packaging.requirements import Requirement
    found = []
    for _number, text in _requirement_lines(path):
        if text.startswith(("-r ", "--requirement ")):
            found.extend(read_in(path.parent / text.split(None, 1)[1]))
        elif text.startswith("-"):
            continue
        else:
            found.append(Requirement(text))
    return found
