#!/usr/bin/env python3
"""The two commands of a fieldops checkout; standard library only.

    python3 dev.py run                # web + Celery worker + beat, embedded (SQLite, files)
    python3 dev.py test [pytest args] # the test suite, on local PostgreSQL/Redis if they answer
    python3 dev.py manage COMMAND ... # any manage.py command, in the embedded settings of run

    python3 dev.py lock [--upgrade]   # write uv.lock again after editing pyproject.toml
    python3 dev.py npm                # fetch and verify the npm packages npm.toml pins
    python3 dev.py npm pin NAME@VER   # pin a front-end package (its registry integrity)

Each command creates ``.venv`` on first use and installs into it exactly the versions
``uv.lock`` names (with uv, itself pinned here and installed into ``.venv`` by pip), again
only when ``pyproject.toml`` or ``uv.lock`` changed. CI and the Docker image install from
the same lock. Front-end packages that exist only on npm are pinned in ``npm.toml`` with
their integrity hash; the bootstrap fetches, verifies and unpacks the missing ones into
``var/npm/`` with Python alone (``fieldops/npm.py``), so no Node.js is needed.
``python dev.py compilemessages`` (run by the two commands and by the Dockerfile) compiles
``locale/*/LC_MESSAGES/*.po`` with Babel, so no GNU gettext is needed; it needs Babel
importable, i.e. run it with the venv's python.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import socket
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import NoReturn
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
UV = BIN / ("uv.exe" if os.name == "nt" else "uv")
#: The uv that installs the lock (the Dockerfile pins the same version).
UV_VERSION = "0.13.9"
LOCK = ROOT / "uv.lock"
STAMP = VENV / ".fieldops-lock.sha256"  # hash of pyproject.toml and uv.lock last installed

LOCAL_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/fieldops"
LOCAL_REDIS_URL = "redis://127.0.0.1:6379/0"


def say(message: str) -> None:
    print(f"dev.py: {message}", flush=True)


def die(message: str) -> NoReturn:
    print(f"dev.py: error: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def call(args: list[str], env: dict[str, str] | None = None, what: str = "") -> None:
    """Run a command in the checkout; stop with a readable message if it fails."""
    code = subprocess.call(args, cwd=ROOT, env=env)
    if code != 0:
        die(f"{what or ' '.join(args)} failed (exit code {code}).")


# --- The virtualenv -----------------------------------------------------------

def bootstrap() -> None:
    """Create .venv if missing; install the locked dependencies and the project into it
    when pyproject.toml or uv.lock changed."""
    if sys.version_info < (3, 11):  # noqa: UP036 (the system python3 may be older)
        die(f"fieldops needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    if not PYTHON.exists():
        say("creating .venv ...")
        call([sys.executable, "-m", "venv", str(VENV)],
             what="python3 -m venv .venv (on Debian/Ubuntu: apt-get install python3-venv)")
    if not LOCK.exists():
        die("uv.lock is missing: run `python3 dev.py lock` to write it.")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()
                            + LOCK.read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    ensure_uv()
    say("installing the locked dependencies (uv.lock) and the project into .venv ...")
    call([str(UV), "sync", "--locked", "--inexact", "--extra", "dev", "--python", str(PYTHON)],
         env=uv_env(),
         what="uv sync --locked (if uv.lock is out of date with pyproject.toml: "
              "python3 dev.py lock)")
    STAMP.write_text(wanted + "\n")


def npm_pins() -> ModuleType:
    """``fieldops/npm.py``, loaded by its path: it runs before the virtualenv exists."""
    spec = importlib.util.spec_from_file_location("fieldops_npm", ROOT / "fieldops" / "npm.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def npm_fetch() -> None:
    """Fetch, verify and unpack the pinned npm packages that are not in var/npm/ yet."""
    npm = npm_pins()
    try:
        for package in npm.missing(ROOT):
            npm.ensure(package, ROOT, say=say)
    except npm.NpmError as exc:
        die(str(exc))


def npm_command(args: list[str]) -> None:
    npm = npm_pins()
    if args[:1] == ["pin"] and len(args) == 2:
        try:
            package = npm.pin(args[1], ROOT)
        except npm.NpmError as exc:
            die(str(exc))
        say(f"npm.toml pins {package.name} {package.version} ({package.integrity[:20]}...)")
    npm_fetch()
    say("every npm package npm.toml pins is in var/npm/, verified")


def ensure_uv() -> None:
    """uv, at the pinned version, inside .venv (pip puts it there; nothing system-wide)."""
    if UV.exists():
        found = subprocess.run([str(UV), "--version"], capture_output=True, text=True)
        if found.returncode == 0 and found.stdout.split()[1:2] == [UV_VERSION]:
            return
    say(f"installing uv {UV_VERSION} into .venv ...")
    call([str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check",
          "--progress-bar", "on", f"uv=={UV_VERSION}"], what=f"pip install uv=={UV_VERSION}")


def uv_env() -> dict[str, str]:
    """uv works on .venv (the project environment), whatever the caller's environment."""
    env = dict(os.environ)
    env["UV_PROJECT_ENVIRONMENT"] = str(VENV)
    env.pop("VIRTUAL_ENV", None)
    return env


def lock(args: list[str]) -> None:
    """Write uv.lock again from pyproject.toml (``--upgrade``: newest allowed versions)."""
    if not PYTHON.exists():
        call([sys.executable, "-m", "venv", str(VENV)], what="python3 -m venv .venv")
    ensure_uv()
    call([str(UV), "lock", *args], env=uv_env(), what="uv lock")
    say("uv.lock written; the next `python3 dev.py run` or `test` installs it")


def child_env() -> dict[str, str]:
    """This environment with the venv first on PATH, for every child process."""
    env = dict(os.environ)
    env["VIRTUAL_ENV"] = str(VENV)
    env["PATH"] = str(BIN) + os.pathsep + env.get("PATH", "")
    env.pop("PYTHONHOME", None)
    env.setdefault("PYTHONUNBUFFERED", "1")  # honcho prints lines as they come
    return env


def compile_messages() -> None:
    """Compile every locale/*/LC_MESSAGES/*.po to .mo with Babel (runs inside the venv)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in sorted(ROOT.glob("locale/*/LC_MESSAGES/*.po")):
        with po.open("rb") as src:
            catalog = read_po(src)
        mo = po.with_suffix(".mo")
        partial = mo.with_name(mo.name + ".tmp")
        with partial.open("wb") as out:
            write_mo(out, catalog)  # fuzzy entries left out, as msgfmt does
        partial.replace(mo)  # atomic: a running server never reads half a file


# --- Services for the test suite -------------------------------------------------

def postgres_answers() -> bool:
    probe = ("import psycopg; psycopg.connect(host='127.0.0.1', port=5432, user='postgres', "
             "dbname='postgres', connect_timeout=3).close()")
    return subprocess.run([str(PYTHON), "-c", probe], capture_output=True).returncode == 0


def redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def masked(url: str) -> str:
    """The URL without its password, for printing."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


# --- The commands --------------------------------------------------------------

def embedded_env() -> dict[str, str]:
    """The environment of ``run`` and ``manage``: without DATABASE_URL / CELERY_BROKER_URL
    the settings use SQLite and the filesystem broker under var/ (FIELDOPS_VAR_DIR); links
    printed and texted point at the port the web server listens on."""
    env = child_env()
    env.setdefault("DEBUG", "1")
    port = env.setdefault("PORT", "8000")
    env.setdefault("PUBLIC_URL", f"http://127.0.0.1:{port}")
    return env


def manage(args: list[str]) -> NoReturn:
    bootstrap()
    npm_fetch()
    env = embedded_env()
    os.chdir(ROOT)
    os.execve(str(PYTHON), [str(PYTHON), "manage.py", *args], env)


def run() -> NoReturn:
    bootstrap()
    npm_fetch()
    env = embedded_env()
    port = env["PORT"]
    if env.get("HOST"):
        env["FIELDOPS_BIND"] = "0.0.0.0"
        env.setdefault("ALLOWED_HOSTS", "*")  # reachable by any name; DEBUG server only
    var = ROOT / env.get("FIELDOPS_VAR_DIR", "var")  # children run in the checkout
    for folder in (ROOT / "var", var / "broker" / "queue", var / "broker" / "processed",
                   var / "broker" / "control"):
        folder.mkdir(parents=True, exist_ok=True)

    manage = [str(PYTHON), "manage.py"]
    call([*manage, "migrate", "--noinput"], env, "manage.py migrate")
    call([str(PYTHON), str(ROOT / "dev.py"), "compilemessages"], env, "compiling translations")
    call([*manage, "demo_data", "--if-empty"], env,
         "loading the demo data (manage.py demo_data --if-empty)")

    say(f"open http://127.0.0.1:{port}/admin/"
        + (" (listening on all interfaces, HOST is set)" if env.get("HOST") else ""))
    say("starting web, worker and beat (Procfile.dev); Ctrl-C stops them all")
    os.chdir(ROOT)
    # -e /dev/null: take the environment from here, never from a .env meant for docker compose.
    honcho = str(BIN / "honcho")
    os.execve(honcho, [honcho, "-f", "Procfile.dev", "-e", os.devnull, "start", "-p", port], env)


def test(pytest_args: list[str]) -> NoReturn:
    bootstrap()
    npm_fetch()
    env = child_env()
    call([str(PYTHON), str(ROOT / "dev.py"), "compilemessages"], env, "compiling translations")
    if "DATABASE_URL" not in env and postgres_answers():
        env["DATABASE_URL"] = LOCAL_DATABASE_URL
    if "REDIS_URL" not in env and redis_answers():
        env["REDIS_URL"] = LOCAL_REDIS_URL
    database, redis = env.get("DATABASE_URL", ""), env.get("REDIS_URL", "")
    on_postgres = database.split(":", 1)[0] in ("postgres", "postgresql", "pgsql")
    missing = [name for name, up in (("postgres", on_postgres), ("redis", bool(redis))) if not up]
    required = env.get("FIELDOPS_REQUIRE_SERVICES", "") in ("1", "true", "yes")
    say("tests use database "
        + (masked(database) if database else "SQLite (no PostgreSQL answered at 127.0.0.1:5432)")
        + ", redis " + (masked(redis) if redis else "none")
        + (f"; tests marked {'/'.join(missing)} will "
           + ("FAIL (FIELDOPS_REQUIRE_SERVICES=1)" if required else "be skipped")
           if missing else ""))
    os.chdir(ROOT)
    os.execve(str(PYTHON), [str(PYTHON), "-m", "pytest", *pytest_args], env)


def main(argv: list[str]) -> None:
    command, rest = (argv[0], argv[1:]) if argv else ("", [])
    if command == "run" and not rest:
        run()
    elif command == "test":
        test(rest)
    elif command == "manage" and rest:
        manage(rest)
    elif command == "lock" and rest in ([], ["--upgrade"]):
        lock(rest)
    elif command == "npm" and (not rest or (rest[0] == "pin" and len(rest) == 2)):
        npm_command(rest)
    elif command == "compilemessages" and not rest:
        compile_messages()
    else:
        print(__doc__.strip(), file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv[1:])
