"""The environment variables of the interface contract, read once into one typed, frozen object."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ureport.privacy import Keyring


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


def _text(value: str) -> str:
    return value


def _optional(value: str) -> str | None:
    return value or None


def _flag(value: str) -> bool:
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be 1/0, true/false, yes/no or on/off")


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError("must be a positive integer")
    return number


def _non_negative(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    def check(value: str) -> Any:
        number = parse(value)
        if number < 0:
            raise ValueError("must be 0 or more")
        return number

    return check


def _setting(env: str, default: Any, help: str, parse: Callable[[str], Any] = _text) -> Any:
    """Declare one setting: its variable, default and help live beside the field they fill."""
    return field(default=default, metadata={"env": env, "help": help, "parse": parse})


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything the service reads from its environment; build with `Settings.from_env()`."""

    data_dir: Path = _setting(
        "UREPORT_DATA_DIR", Path("ureport-data"), "where the SQLite file and demo secrets live", Path
    )
    database_url: str | None = _setting(
        "UREPORT_DATABASE_URL",
        None,
        "Tortoise database URL (sqlite://PATH or postgres://...)",
        _optional,
    )
    secret_key: str | None = _setting(
        "UREPORT_SECRET_KEY",
        None,
        "root secret for digests, encryption and sessions; required unless --demo",
        _optional,
    )
    secret_key_version: int = _setting(
        "UREPORT_SECRET_KEY_VERSION",
        1,
        "version of UREPORT_SECRET_KEY; raise it when rotating",
        _positive_int,
    )
    previous_secret_keys: str | None = _setting(
        "UREPORT_PREVIOUS_SECRET_KEYS",
        None,
        "earlier secrets still readable during a rotation, as version:secret[,version:secret]",
        _optional,
    )
    at_username: str | None = _setting(
        "UREPORT_AT_USERNAME", None, "Africa's Talking username (unset: sending disabled)", _optional
    )
    at_api_key: str | None = _setting("UREPORT_AT_API_KEY", None, "Africa's Talking API key", _optional)
    at_sender: str | None = _setting("UREPORT_AT_SENDER", None, "short code or sender id", _optional)
    at_api_url: str | None = _setting(
        "UREPORT_AT_API_URL",
        None,
        "replaces https://api.africastalking.com (point it at `ureport fake-gateway`)",
        _optional,
    )
    callback_token: str | None = _setting(
        "UREPORT_CALLBACK_TOKEN", None, "when set, callbacks must carry ?token=<value> or get 403", _optional
    )
    metrics_token: str | None = _setting(
        "UREPORT_METRICS_TOKEN",
        None,
        "when set, GET /metrics needs the header Authorization: Bearer <value> (else 403)",
        _optional,
    )
    default_region: str = _setting(
        "UREPORT_DEFAULT_REGION", "KE", "ISO country for numbers written without +", str.upper
    )
    min_cell: int = _setting(
        "UREPORT_MIN_CELL", 5, "smallest count shown in any published aggregate", _positive_int
    )
    process_inbox: bool = _setting(
        "UREPORT_PROCESS_INBOX",
        True,
        "process messages and send replies in the web process (0: web only, beside `ureport worker`)",
        _flag,
    )
    inbox_process: bool | None = _setting(
        "UREPORT_INBOX_PROCESS",
        None,
        "`ureport serve` processes messages in a second process of its own, and sends from the web process"
        " (0: both in the web process; default: 1 on a machine with two cores or more)",
        _flag,
    )
    send_batch: int = _setting(
        "UREPORT_SEND_BATCH",
        500,
        "outbox messages the sender claims at a time (identical texts among them go in one gateway request)",
        _positive_int,
    )
    send_max_attempts: int = _setting(
        "UREPORT_SEND_MAX_ATTEMPTS", 6, "sends of one message before it is marked failed", _positive_int
    )
    send_rate: float = _setting(
        "UREPORT_SEND_RATE",
        0.0,
        "messages a second each sender may hand the gateway (0: unlimited)",
        _non_negative(float),
    )
    at_send_rate: float = _setting(
        "UREPORT_AT_SEND_RATE",
        0.0,
        "messages a second the Africa's Talking channel may be handed in all, shared evenly by the live "
        "senders on every host (0: no channel limit)",
        _non_negative(float),
    )
    send_lease: int = _setting(
        "UREPORT_SEND_LEASE",
        120,
        "seconds a sender holds the messages it claimed; a crashed sender's are taken over after it "
        "(keep it well above the gateway request timeout of about 12 s)",
        _positive_int,
    )
    daily_cap: int = _setting(
        "UREPORT_DAILY_CAP",
        10,
        "unsolicited messages (broadcasts, reminders) per person per UTC day; "
        "the rest wait for the next day (0: no cap)",
        _non_negative(int),
    )
    ussd_screen: int = _setting(
        "UREPORT_USSD_SCREEN",
        160,
        "characters a USSD screen may hold, `CON `/`END ` included (182 is the USSD maximum)",
        _positive_int,
    )
    ussd_resume_minutes: int = _setting(
        "UREPORT_USSD_RESUME_MINUTES",
        15,
        "a dropped USSD session dialled again within this many minutes offers to continue",
        _positive_int,
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read every declared variable; a malformed value raises SettingsError naming it."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(f.metadata["env"])
            if raw is None or raw == "":
                continue
            try:
                values[f.name] = f.metadata["parse"](raw.strip())
            except ValueError as exc:
                raise SettingsError(f"{f.metadata['env']}: {exc}") from None
        values.update(overrides)
        return cls(**values)

    @property
    def db_url(self) -> str:
        """The database URL in use: the configured one, or SQLite in the data dir."""
        return self.database_url or f"sqlite://{self.data_dir / 'ureport.sqlite3'}"

    @property
    def inbox_apart(self) -> bool:
        """Whether `ureport serve` processes the inbox in a process of its own: one Python process runs
        on one core, and processing is half of a message's CPU (see ureport/inbox_process.py)."""
        if not self.process_inbox:
            return False
        if self.inbox_process is not None:
            return self.inbox_process
        return _cores() >= 2

    def environment(self) -> dict[str, str]:
        """These settings as the variables that `from_env` reads back: for a process started by this one."""
        variables: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool):
                variables[f.metadata["env"]] = "1" if value else "0"
            elif value is not None:
                variables[f.metadata["env"]] = str(value)
        return variables

    @property
    def sending_enabled(self) -> bool:
        return bool(self.at_username and self.at_api_key)

    def with_demo_defaults(self) -> Settings:
        """Demo mode: a generated secret kept in the data dir, so a restart keeps contacts readable."""
        if self.secret_key:
            return self
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.data_dir / "demo-secret-key"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return Settings(**{**_as_dict(self), "secret_key": path.read_text().strip()})

    def keyring(self) -> Keyring:
        """Keys for digests and encryption: the current secret, and the earlier ones during a rotation."""
        previous: dict[int, str] = {}
        for item in filter(None, (self.previous_secret_keys or "").split(",")):
            version, sep, secret = item.strip().partition(":")
            if not sep or not version.isdigit() or not secret:
                raise SettingsError("UREPORT_PREVIOUS_SECRET_KEYS: write version:secret[,version:secret]")
            previous[int(version)] = secret
        if self.secret_key_version in previous:
            raise SettingsError(
                "UREPORT_PREVIOUS_SECRET_KEYS: repeats the current UREPORT_SECRET_KEY_VERSION"
            )
        return Keyring.from_secret(self.require_secret(), version=self.secret_key_version, previous=previous)

    def require_secret(self) -> str:
        if not self.secret_key:
            raise SettingsError("UREPORT_SECRET_KEY: required (or run with --demo)")
        return self.secret_key


def _cores() -> int:
    """Cores this process may run on (a container's CPU set, not the host's count, where the OS says)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _as_dict(settings: Settings) -> dict[str, Any]:
    return {f.name: getattr(settings, f.name) for f in fields(settings)}


def documented_settings() -> list[tuple[str, str, str]]:
    """(variable, default, help) for every setting: README's table is checked against it."""
    return [(f.metadata["env"], str(f.default), f.metadata["help"]) for f in fields(Settings)]
