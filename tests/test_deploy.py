"""deploy/ is tested as far as this machine allows: backup.sh and restore.sh round-trip a scratch
PostgreSQL database, systemd checks the units, nginx checks the site, and the environment template
names every setting. A check whose tool is missing is skipped, naming the tool."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import PG_URL, _pg_admin, _with_database
from ureport import db
from ureport.channels.forms import MAX_BODY_BYTES
from ureport.settings import documented_settings

DEPLOY = Path(__file__).parent.parent / "deploy"
UREPORT_BIN = Path(sys.executable).parent / "ureport"


def _tool(name: str) -> str:
    """The tool's full path, or skip the test naming it."""
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not installed")
    return path


def test_env_template_names_every_setting_and_no_other() -> None:
    text = (DEPLOY / "ureport.env.example").read_text()
    named = set(re.findall(r"^#?(UREPORT_[A-Z_]+)=", text, re.M))
    assert named == {variable for variable, _, _ in documented_settings()}


def test_scripts_parse_and_are_executable() -> None:
    for name in ("backup.sh", "restore.sh", "ureport-cli"):
        script = DEPLOY / name
        assert os.access(script, os.X_OK), f"{name} is not executable"
        subprocess.run([_tool("sh"), "-n", str(script)], check=True)


def test_containerfile_builds_from_slim_python_as_a_user_with_files_that_exist() -> None:
    lines = [line.split() for line in (DEPLOY / "Containerfile").read_text().splitlines() if line.strip()]
    instructions = [words for words in lines if words[0].isupper() and not words[0].startswith("#")]
    assert ["FROM", "python:3.11-slim"] in instructions
    users = [words[1] for words in instructions if words[0] == "USER"]
    assert users and users[-1] not in ("root", "0")
    for words in instructions:
        if words[0] == "COPY":
            for source in words[1:-1]:
                assert (DEPLOY.parent / source).exists(), f"COPY {source}: no such file in the repository"
    assert any(words[:3] == ["RUN", "pip", "install"] for words in instructions)


def test_systemd_units_verify(tmp_path: Path) -> None:
    """`systemd-analyze verify` on the units with this machine's paths (it checks ExecStart exists)."""
    analyze = _tool("systemd-analyze")
    units = []
    for unit in sorted((DEPLOY / "systemd").iterdir()):
        text = unit.read_text().replace("/opt/ureport/venv/bin/ureport", str(UREPORT_BIN))
        text = text.replace("/opt/ureport/src/deploy/", f"{DEPLOY}/")
        name = unit.name.replace("@.", "@1.")  # a template is verified as one of its instances
        (tmp_path / name).write_text(text)
        units.append(str(tmp_path / name))
    result = subprocess.run([analyze, "verify", *units], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert not re.search(r"Unknown|ignoring|bad unit", result.stderr), result.stderr


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ureport.example.org")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def test_nginx_site_passes_nginx_t_and_matches_the_apps_body_limit(tmp_path: Path) -> None:
    site = (DEPLOY / "nginx" / "ureport.conf").read_text()
    limit = re.search(r"client_max_body_size (\d+)k;", site)
    assert limit is not None and int(limit[1]) * 1024 == MAX_BODY_BYTES
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in site  # how the app knows it is behind TLS
    nginx = _tool("nginx")
    cert, key = _self_signed(tmp_path)
    site = re.sub(r"ssl_certificate /\S+;", f"ssl_certificate {cert};", site)
    site = re.sub(r"ssl_certificate_key /\S+;", f"ssl_certificate_key {key};", site)
    site = re.sub(r"/var/log/nginx/", f"{tmp_path}/", site)
    (tmp_path / "site.conf").write_text(site)
    temp = " ".join(
        f"{kind}_temp_path {tmp_path}/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log;\n"
        f"events {{}}\nhttp {{ access_log off; {temp} include {tmp_path}/site.conf; }}\n"
    )
    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


@pytest.fixture
def scratch_databases() -> Iterator[tuple[str, str]]:
    """Two empty PostgreSQL databases of their own: a source to back up and a target to restore into."""
    if not PG_URL:
        pytest.skip("backup and restore need PostgreSQL (UREPORT_TEST_DATABASE_URL)")
    for tool in ("pg_dump", "pg_restore", "psql"):
        _tool(tool)
    names = [f"ureport_deploy_{kind}_{uuid.uuid4().hex[:8]}" for kind in ("source", "target")]
    for name in names:
        asyncio.run(_pg_admin(PG_URL, f'CREATE DATABASE "{name}"'))
    try:
        yield _with_database(PG_URL, names[0]), _with_database(PG_URL, names[1])
    finally:
        for name in names:
            asyncio.run(_pg_admin(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _fill(url: str) -> None:
    from ureport.models import Location

    await db.migrate(url)
    await db.init(url)
    try:
        for i in range(3):
            await Location.create(code=f"KE-{i:02d}", name=f"District {i}", level=1)
    finally:
        await db.close()


async def _count(url: str, sql: str) -> object:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


def _run(script: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(DEPLOY / script), *args], env=env, capture_output=True, text=True, timeout=120)


def test_backup_then_restore_round_trips_and_keeps_only_recent_dumps(
    scratch_databases: tuple[str, str], tmp_path: Path
) -> None:
    source, target = scratch_databases
    asyncio.run(_fill(source))
    backups = tmp_path / "backups"
    backups.mkdir()
    old, recent = backups / "ureport-20000101T000000Z.dump", backups / "ureport-20991231T000000Z.dump"
    for dump in (old, recent):
        dump.write_bytes(b"")
    month_ago = time.time() - 30 * 86400
    os.utime(old, (month_ago, month_ago))
    env = {**os.environ, "UREPORT_DATABASE_URL": source + "?minsize=1&maxsize=5", "BACKUP_KEEP_DAYS": "14"}

    done = _run("backup.sh", str(backups), env=env)
    assert done.returncode == 0, done.stderr
    made = [p for p in backups.glob("ureport-*.dump") if p not in (old, recent)]
    assert len(made) == 1 and made[0].stat().st_size > 0
    assert made[0].stat().st_mode & 0o077 == 0  # nobody else reads a dump
    assert not old.exists() and recent.exists()  # retention: older than 14 days deleted
    assert not list(backups.glob("*.partial"))

    done = _run("restore.sh", str(made[0]), target, env={**os.environ})
    assert done.returncode == 0, done.stderr
    for url in (source, target):
        assert asyncio.run(_count(url, "SELECT count(*) FROM location")) == 3
    asyncio.run(db.migrate(target))  # the runbook's next step: nothing left to apply, no error

    again = _run("restore.sh", str(made[0]), target, env={**os.environ})
    assert again.returncode == 3 and "already holds ureport tables" in again.stderr
