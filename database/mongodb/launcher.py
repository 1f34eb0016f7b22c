"""Build and run the embedded MongoDB-wire server used for development and tests.

The server is mongo-java-server with its H2 backend, started by our own
launcher/FinovaMongoServer.java. Maven only fetches the jars; javac compiles
the one launcher class. Both land in a cache directory that is reused while
the sources (FinovaMongoServer.java, pom.xml) are unchanged.

CLI:
    python -m database.mongodb.launcher build --cache DIR
    python -m database.mongodb.launcher run --port N --cache DIR [--data-file F | --memory]
"""
from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
JAVA_SOURCE = HERE / "launcher" / "FinovaMongoServer.java"
POM = HERE / "pom.xml"
MAIN_CLASS = "FinovaMongoServer"
DEFAULT_CACHE = REPO_ROOT / ".cache" / "mongo-launcher"

# Pinned so a build does not depend on whichever plugin version Maven picks.
_COPY_DEPS = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies"
_TOOLS = {"java": "Java runtime", "javac": "Java compiler (JDK)", "mvn": "Maven"}
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class LauncherError(RuntimeError):
    """The dev MongoDB server could not be built or started."""


def _require_tools() -> None:
    for tool, what in _TOOLS.items():
        if shutil.which(tool) is None:
            raise LauncherError(
                f"cannot build the dev MongoDB server: '{tool}' ({what}) is not installed "
                f"or not on PATH. Install a JDK 17+ and Maven, or set MONGO_URL to use "
                f"an existing MongoDB instead."
            )


def _source_digest() -> str:
    h = hashlib.sha256()
    for path in (JAVA_SOURCE, POM):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _paths(cache_dir: Path) -> tuple[Path, Path, Path]:
    return cache_dir / "lib", cache_dir / "classes", cache_dir / "build.sha256"


def _classpath(cache_dir: Path) -> str:
    lib, classes, _ = _paths(cache_dir)
    # "lib/*" is expanded by java itself (all jars in the folder).
    return f"{classes}{os.pathsep}{lib / '*'}"


def _is_built(cache_dir: Path, digest: str) -> bool:
    lib, classes, stamp = _paths(cache_dir)
    try:
        recorded = stamp.read_text().strip()
    except OSError:
        return False
    return (
        recorded == digest
        and (classes / f"{MAIN_CLASS}.class").is_file()
        and any(lib.glob("mongo-java-server-h2-backend-*.jar"))
    )


def _run_build_step(cmd: list[str], what: str, timeout: float) -> None:
    try:
        res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise LauncherError(f"{what} timed out after {timeout:.0f}s: {' '.join(cmd)}") from exc
    if res.returncode != 0:
        tail = "\n".join(_ANSI.sub("", res.stdout or "").strip().splitlines()[-40:])
        raise LauncherError(f"{what} failed (exit {res.returncode}): {' '.join(cmd)}\n{tail}")


@contextlib.contextmanager
def _file_lock(path: Path):
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)  # blocks while another process builds
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_built(cache_dir: Path) -> str:
    """Return a Java classpath for FinovaMongoServer, building it into cache_dir if needed."""
    _require_tools()
    cache_dir = Path(cache_dir).resolve()
    cache_dir.mkdir(parents=True, exist_ok=True)
    digest = _source_digest()
    with _file_lock(cache_dir / ".build.lock"):
        # Checked under the lock: a concurrent caller may have just finished the build.
        if _is_built(cache_dir, digest):
            return _classpath(cache_dir)
        lib, classes, stamp = _paths(cache_dir)
        stamp.unlink(missing_ok=True)
        for d in (lib, classes):
            shutil.rmtree(d, ignore_errors=True)  # drop jars of an older pom
        _run_build_step(
            ["mvn", "-B", "-q", "-Dstyle.color=never", "-f", str(POM), _COPY_DEPS,
             "-DincludeScope=runtime", f"-DoutputDirectory={lib}"],
            "fetching the mongo-java-server jars with Maven", timeout=900,
        )
        _run_build_step(
            ["javac", "-encoding", "UTF-8", "-d", str(classes), "-cp", str(lib / "*"),
             str(JAVA_SOURCE)],
            "compiling FinovaMongoServer.java", timeout=300,
        )
        # The stamp is written last, so an interrupted build is redone next time.
        tmp = stamp.with_suffix(".tmp")
        tmp.write_text(digest + "\n")
        os.replace(tmp, stamp)
    return _classpath(cache_dir)


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, offset: int, lines: int = 30) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.strip().splitlines()[-lines:]) or "(log is empty)"


def _ping(port: int) -> bool:
    import pymongo  # imported here so `build` works without pymongo

    client = pymongo.MongoClient(f"mongodb://127.0.0.1:{port}/", serverSelectionTimeoutMS=500,
                                 connectTimeoutMS=500)
    try:
        client.admin.command("ping")
        return True
    except Exception:  # noqa: BLE001 - any failure just means "not ready yet"
        return False
    finally:
        client.close()


def start(port: int, cache_dir: Path, data_file: Path | None = None,
          log_path: Path | None = None, timeout: float = 30) -> subprocess.Popen:
    """Start the server on 127.0.0.1:port and return once pymongo can talk to it.

    data_file=None keeps the data in memory. Server output goes to log_path
    (default: cache_dir/logs/server-PORT.log, appended to).
    """
    cache_dir = Path(cache_dir).resolve()
    classpath = ensure_built(cache_dir)
    if log_path is None:
        log_path = cache_dir / "logs" / f"server-{port}.log"
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)

    cmd = ["java", "-Xmx256m", "-cp", classpath, MAIN_CLASS, "--port", str(port)]
    cmd += ["--data-file", str(Path(data_file).resolve())] if data_file else ["--memory"]
    with open(log_path, "ab") as log:
        offset = log.tell()  # only this run's lines go into error messages
        # Own session: a Ctrl-C in the caller's terminal does not hit java directly;
        # stop() decides how it ends, so the H2 file is always closed properly.
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)

    ready_line = f"ready on 127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise LauncherError(f"MongoDB dev server exited with code {proc.returncode} "
                                f"during startup; log {log_path}:\n{_tail(log_path, offset)}")
        # Only our own ready line counts: a ping alone could reach some other
        # server that already holds the port.
        if ready_line in _tail(log_path, offset, lines=200) and _ping(port):
            return proc
        if time.monotonic() > deadline:
            stop(proc)
            raise LauncherError(f"MongoDB dev server not ready after {timeout:.0f}s; "
                                f"log {log_path}:\n{_tail(log_path, offset)}")
        time.sleep(0.1)


def stop(proc: subprocess.Popen, timeout: float = 10) -> int:
    """SIGTERM (the server closes its H2 file), then SIGKILL if it hangs. Returns the exit code."""
    if proc.poll() is None:
        proc.terminate()
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m database.mongodb.launcher",
                                     description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="fetch jars and compile the launcher")
    b.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    r = sub.add_parser("run", help="run the server in the foreground until SIGTERM/SIGINT")
    r.add_argument("--port", type=int, required=True)
    r.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    r.add_argument("--log", type=Path, default=None, help="server log (default under --cache)")
    r.add_argument("--timeout", type=float, default=60)
    where = r.add_mutually_exclusive_group(required=True)
    where.add_argument("--data-file", type=Path)
    where.add_argument("--memory", action="store_true")
    args = parser.parse_args(argv)

    try:
        if args.command == "build":
            print(ensure_built(args.cache))
            return 0
        ensure_built(args.cache)  # before the handlers, so Ctrl-C can abort a slow build
        stop_requested = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop_requested.set())
        proc = start(args.port, args.cache, data_file=args.data_file, log_path=args.log,
                     timeout=args.timeout)
    except LauncherError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"mongodb://127.0.0.1:{args.port}/ (pid {proc.pid}); Ctrl-C or SIGTERM stops it",
          flush=True)
    while not stop_requested.is_set() and proc.poll() is None:
        stop_requested.wait(0.5)
    if proc.poll() is not None:
        print(f"error: server exited by itself with code {proc.returncode}", file=sys.stderr)
        return 1
    stop(proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
