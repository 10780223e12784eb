"""Settings: one typed object, from ``SOLOIST_*`` variables and the workspace's ``soloist.toml``.

A *workspace* is a folder that holds the configuration, the master key and (by default) the
SQLite database. The settings object is passed in to what needs it; nothing imports a global.
Secrets also accept a ``_FILE`` variant (``SOLOIST_MASTER_KEY_FILE``) that names a file holding
the value, as container secrets do.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from soloist.errors import ConfigurationError

CONFIG_FILE_NAME = "soloist.toml"
KEY_FILE_NAME = "master.key"
DATABASE_FILE_NAME = "soloist.db"
DEFAULT_WORKSPACE = Path("soloist-workspace")


class Settings(BaseSettings):
    """Every setting Soloist reads, with its default and what it is for."""

    model_config = SettingsConfigDict(env_prefix="SOLOIST_", extra="ignore")

    workspace: Path = Field(
        default=DEFAULT_WORKSPACE,
        description="Folder holding soloist.toml, the master key and the default SQLite database.",
    )
    database_url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL of the database; default: a SQLite file soloist.db in the workspace. "
            "Examples: postgresql+psycopg://user@host/db, mysql+pymysql://root@host/db."
        ),
    )
    master_key: SecretStr | None = Field(
        default=None,
        description=(
            "Base64 master key (32 bytes) from which the encryption, lookup-hash and session keys "
            "are derived; default: the workspace's master.key file, made by `soloist init`. "
            "Never stored in the database."
        ),
    )
    currency: str = Field(
        default="USD", description="ISO 4217 code of the business's own currency."
    )
    timezone: str = Field(default="UTC", description="Time zone in which dates are shown.")
    locale: str = Field(default="en", description="Default language: en or zh_Hans.")
    sqlite_busy_timeout_ms: int = Field(
        default=30_000, description="How long a SQLite writer waits for the lock, in ms."
    )
    refit_schedule: str = Field(
        default="0 3 * * *",
        description=(
            "When the background worker refits the analyses (what `soloist analyze` runs): a "
            "crontab expression (minute hour day month weekday) in the workspace time zone "
            "(`timezone`); default 03:00 every night; an empty value turns the nightly refit off."
        ),
    )
    stripe_webhook_secret: SecretStr | None = Field(
        default=None,
        description=(
            "Signing secret (whsec_…) of the Stripe webhook endpoint /api/v1/webhooks/stripe; "
            "unset: that webhook answers 503."
        ),
    )
    shopify_webhook_secret: SecretStr | None = Field(
        default=None,
        description=(
            "Shopify's webhook signing secret for /api/v1/webhooks/shopify; "
            "unset: that webhook answers 503."
        ),
    )
    woocommerce_webhook_secret: SecretStr | None = Field(
        default=None,
        description=(
            "The secret of the WooCommerce webhooks that call /api/v1/webhooks/woocommerce; "
            "unset: that webhook answers 503."
        ),
    )

    smtp_host: str | None = Field(
        default=None,
        description="The SMTP server campaigns are sent through; unset: e-mail cannot be sent.",
    )
    smtp_port: int | None = Field(
        default=None,
        description="Its port; default 465 with `tls`, 587 with `starttls`, 25 with `none`.",
    )
    smtp_security: Literal["none", "starttls", "tls"] = Field(
        default="starttls",
        description=(
            "`starttls` (upgrade a plain connection, port 587), `tls` (TLS from the start, port "
            "465) or `none` (a local relay only)."
        ),
    )
    smtp_username: str | None = Field(default=None, description="SMTP login; unset: none.")
    smtp_password: SecretStr | None = Field(
        default=None, description="SMTP password (or SOLOIST_SMTP_PASSWORD_FILE)."
    )
    smtp_timeout_s: float = Field(default=30.0, description="Seconds to wait for the server.")
    mail_from: str | None = Field(
        default=None,
        description='The From of every message, e.g. "Ada\'s Coffee <ada@example.com>".',
    )
    mail_reply_to: str | None = Field(default=None, description="Reply-To; default: none.")
    mail_rate: float = Field(
        default=10.0,
        ge=0,
        description=(
            "At most this many messages per second leave one sender (your provider's limit); "
            "0: no ceiling."
        ),
    )
    unsubscribe_mailto: str | None = Field(
        default=None,
        description=(
            "An address for the `mailto:` form of List-Unsubscribe (its subject carries the "
            "recipient's token); unset: only the HTTPS one-click link is offered."
        ),
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description=(
            "The address customers reach this Soloist at: the base of every link in a message "
            "(unsubscribe, click counting, the open pixel). Use https in production."
        ),
    )
    attribution_days: int = Field(
        default=7,
        ge=1,
        le=365,
        description="A new campaign counts orders placed this many days after its message.",
    )
    frequency_cap: int = Field(
        default=3,
        ge=0,
        le=100,
        description=(
            "At most this many campaign and journey messages reach one customer in 7 days "
            "(a customer at the cap is left out of a campaign, and a journey's message waits "
            "for room); 0: no cap."
        ),
    )
    quiet_hours: str = Field(
        default="21-8",
        description=(
            "Hours of the customer's day when nothing is sent, as START-END in 24-hour clock "
            "(21-8: from 21:00 to 08:00), in the customer's time zone (the workspace's when "
            "unknown); a message due then waits for the end. Empty: no quiet hours."
        ),
    )
    sms_outbox: Path | None = Field(
        default=None,
        description=(
            "Where the SMS channel writes its messages (JSON lines), since no gateway is set "
            "up; default: sms-outbox.jsonl in the workspace."
        ),
    )
    webhook_channel_url: str | None = Field(
        default=None,
        description="The URL the webhook channel POSTs each message to (JSON, signed).",
    )
    webhook_channel_secret: SecretStr | None = Field(
        default=None,
        description=(
            "The key of the webhook channel's X-Soloist-Signature (HMAC-SHA256); "
            "or SOLOIST_WEBHOOK_CHANNEL_SECRET_FILE."
        ),
    )

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours_are_a_range(cls, value: str) -> str:
        text = value.strip()
        if not text:
            return ""
        start, sep, end = text.partition("-")
        if not sep or not start.strip().isdigit() or not end.strip().isdigit():
            raise ValueError(f"quiet_hours must look like 21-8, got {value!r}")
        first, last = int(start), int(end)
        if not (0 <= first <= 23 and 0 <= last <= 23) or first == last:
            raise ValueError(f"quiet_hours needs two different hours from 0 to 23, got {value!r}")
        return f"{first}-{last}"

    @field_validator("public_url")
    @classmethod
    def _public_url_is_http(cls, value: str) -> str:
        url = value.strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"public_url must start with http:// or https://, got {value!r}")
        return url

    @property
    def smtp_port_or_default(self) -> int:
        if self.smtp_port:
            return self.smtp_port
        return {"tls": 465, "starttls": 587, "none": 25}[self.smtp_security]

    @property
    def sms_outbox_path(self) -> Path:
        return self.sms_outbox or self.workspace / "sms-outbox.jsonl"

    @field_validator("currency")
    @classmethod
    def _currency_is_iso(cls, value: str) -> str:
        code = value.strip().upper()
        if len(code) != 3 or not code.isalpha():
            raise ValueError(f"currency must be a 3-letter ISO 4217 code, got {value!r}")
        return code

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.workspace / DATABASE_FILE_NAME).resolve()}"

    @property
    def key_file(self) -> Path:
        return self.workspace / KEY_FILE_NAME

    def read_master_key(self) -> str:
        """The master key: from the setting, else from the workspace's key file."""
        if self.master_key is not None:
            return self.master_key.get_secret_value().strip()
        if self.key_file.exists():
            return self.key_file.read_text(encoding="ascii").strip()
        raise ConfigurationError(
            f"No master key: {self.key_file} does not exist and SOLOIST_MASTER_KEY is not set. "
            "Run `soloist init` to create the workspace.",
            key_file=str(self.key_file),
        )


def _read_file_variants(environ: dict[str, str]) -> dict[str, Any]:
    """``SOLOIST_X_FILE=/path`` supplies ``x`` from that file's contents."""
    values: dict[str, Any] = {}
    for name, path in environ.items():
        if name.startswith("SOLOIST_") and name.endswith("_FILE"):
            field = name.removeprefix("SOLOIST_").removesuffix("_FILE").lower()
            if field in Settings.model_fields and f"SOLOIST_{field.upper()}" not in environ:
                try:
                    values[field] = Path(path).read_text(encoding="utf-8").strip()
                except OSError as exc:
                    raise ConfigurationError(
                        f"{name} names {path}, which cannot be read: {exc}"
                    ) from exc
    return values


def load_settings(
    workspace: Path | str | None = None,
    database_url: str | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    """Settings from, in order of precedence: arguments, environment, ``soloist.toml``, defaults."""
    env = dict(os.environ if environ is None else environ)
    ws = (
        Path(workspace)
        if workspace is not None
        else Path(env.get("SOLOIST_WORKSPACE", DEFAULT_WORKSPACE))
    )
    values: dict[str, Any] = {}
    config_file = ws / CONFIG_FILE_NAME
    if config_file.exists():
        try:
            values.update(tomllib.loads(config_file.read_text(encoding="utf-8")).get("soloist", {}))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"{config_file} is not valid TOML: {exc}") from exc
    for name in Settings.model_fields:
        env_name = f"SOLOIST_{name.upper()}"
        if env_name in env:
            values[name] = env[env_name]
    values.update(_read_file_variants(env))
    values["workspace"] = ws
    if database_url:
        values["database_url"] = database_url
    try:
        return Settings.model_validate(values)
    except ValueError as exc:
        raise ConfigurationError(f"Invalid setting: {exc}") from exc
