"""Settings: one typed object, from ``SOLOIST_*`` variables and the workspace's ``soloist.toml``.

A *workspace* is a folder that holds the configuration, the master key and (by default) the
SQLite database. The settings object is passed in to what needs it; nothing imports a global.
Secrets also accept a ``_FILE`` variant (``SOLOIST_MASTER_KEY_FILE``) that names a file holding
the value, as container secrets do.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from soloist.countries import check_country
from soloist.errors import ConfigurationError
from soloist.money import check_currency, check_rate

CONFIG_FILE_NAME = "soloist.toml"
KEY_FILE_NAME = "master.key"
DATABASE_FILE_NAME = "soloist.db"
DEFAULT_WORKSPACE = Path("soloist-workspace")
DEFAULT_CURRENCY = "USD"


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
        default=DEFAULT_CURRENCY,
        description=(
            "ISO 4217 code of the business's own currency: totals, CLV and the analyses are in "
            "it (`soloist init --currency`)."
        ),
    )
    country: str | None = Field(
        default=None,
        description=(
            "ISO 3166 alpha-2 code of the business's country (GB, US, CN): phone numbers "
            "written without a +country code are read as this country's (`soloist init "
            "--country`); unset: such a number is refused unless the row or --region names one."
        ),
    )
    rates: Annotated[dict[str, Decimal], NoDecode] = Field(
        default_factory=dict,
        description=(
            "Exchange rates into `currency` for orders in other currencies, CODE = RATE "
            "(1 CODE is worth RATE of `currency`): the [soloist.rates] table of soloist.toml "
            '(`soloist rates set`), or SOLOIST_RATES="EUR=0.85,JPY=0.0052"; an order in a '
            "currency without a rate stays out of the totals, and they say so."
        ),
    )
    timezone: str = Field(default="UTC", description="Time zone in which dates are shown.")
    locale: str = Field(default="en", description="Default language: en or zh_Hans.")
    sqlite_busy_timeout_ms: int = Field(
        default=30_000, description="How long a SQLite writer waits for the lock, in ms."
    )
    analyses_side_by_side: bool = Field(
        default=True,
        description="Fit the churn model in a second process beside the CLV models and segments "
        "(on more than one core); off: one after the other, in one process (less memory).",
    )
    score_runs_kept: int = Field(
        default=2,
        ge=0,
        description="How many of each analysis' newest runs keep their per-customer scores "
        "(0: every run; otherwise at least 2, the current run and the one before it); older "
        "runs keep their parameters and metrics.",
    )
    import_max_cell_bytes: int = Field(
        default=256 * 1024,
        ge=1024,
        description=(
            "An import refuses a file with a cell longer than this many bytes (UTF-8); default "
            "256 KiB, eight times what an Excel cell can hold."
        ),
    )
    import_max_columns: int = Field(
        default=500,
        ge=2,
        description="An import refuses a file with more columns than this; default 500.",
    )
    secure_cookies: bool = Field(
        default=False,
        description="Mark the session cookie Secure (sent over HTTPS only): set it when a TLS "
        "proxy serves the app.",
    )
    api_docs: Literal["signed-in", "off"] = Field(
        default="signed-in",
        description="The interactive API reference at /docs: for signed-in users, or off.",
    )
    sign_in_failures_per_account: int = Field(
        default=10,
        ge=1,
        description="Failed sign-ins for one e-mail within the window before 429; default 10.",
    )
    sign_in_failures_per_address: int = Field(
        default=50,
        ge=1,
        description="Failed sign-ins (or API tokens) from one address within the window before "
        "429; default 50.",
    )
    sign_in_window_minutes: int = Field(
        default=15,
        ge=1,
        le=1440,
        description="The moving window in which failed sign-ins are counted; default 15.",
    )
    # Details in docs/configuration.md (a test keeps every setting documented there).
    import_max_uncompressed_bytes: int = Field(
        default=1024**3, ge=1024**2, description="Largest file an import reads, once unzipped."
    )
    import_max_compression_ratio: int = Field(
        default=100, ge=0, description="Largest expansion of a .gz or workbook; 0: any."
    )
    refit_schedule: str = Field(
        default="0 3 * * *", description="When the worker refits the analyses (crontab)."
    )
    loyalty_schedule: str = Field(
        default="10 2 * * *",
        description="When the worker runs the loyalty programme's daily jobs (crontab).",
    )
    backup_schedule: str = Field(
        default="", description="When the worker writes a backup (crontab); empty: never."
    )
    backup_keep: int = Field(
        default=7, ge=1, description="How many scheduled backups to keep; older ones are deleted."
    )
    backup_folder: Path | None = Field(
        default=None, description="Where scheduled backups go (default: the workspace's backups/)."
    )
    backup_passphrase: SecretStr | None = Field(
        default=None,
        description="The passphrase backups are sealed under (or SOLOIST_BACKUP_PASSPHRASE_FILE).",
    )
    # The retention policy (domain/privacy/retention.py); 0 turns each part off.
    retention_inactive_years: int = Field(
        default=0, ge=0, le=100, description="Erase customers inactive this many years."
    )
    retention_message_days: int = Field(
        default=0, ge=0, le=36_500, description="Strip messages older than this many days."
    )
    retention_schedule: str = Field(
        default="30 4 * * *", description="When the worker applies the retention policy."
    )
    report_schedule: str = Field(
        default="", description="When the worker e-mails the report (crontab); empty: never."
    )
    report_period: Literal["month", "week"] = Field(default="month", description="month or week.")
    report_recipients: str = Field(
        default="", description="Comma-separated addresses; empty: every active owner."
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
    imap_host: str | None = Field(
        default=None,
        description=(
            "The IMAP server of the support mailbox: each new e-mail there becomes a ticket or "
            "joins one (the worker reads it once a minute); unset: no mail is read."
        ),
    )
    imap_port: int | None = Field(
        default=None,
        description="Its port; default 993 with `tls`, 143 with `starttls` or `none`.",
    )
    imap_security: Literal["none", "starttls", "tls"] = Field(
        default="tls",
        description=(
            "`tls` (TLS from the start, port 993), `starttls` (upgrade a plain connection, port "
            "143) or `none` (a server on the same machine only)."
        ),
    )
    imap_username: str | None = Field(default=None, description="IMAP login of the mailbox.")
    imap_password: SecretStr | None = Field(
        default=None, description="IMAP password (or SOLOIST_IMAP_PASSWORD_FILE)."
    )
    imap_mailbox: str = Field(
        default="INBOX", description="The folder whose new mail becomes tickets; default INBOX."
    )
    imap_processed_mailbox: str | None = Field(
        default=None,
        description=(
            "A folder that filed mail is moved to (created when missing); unset: filed mail "
            "stays where it is, marked read."
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
    def imap_port_or_default(self) -> int:
        if self.imap_port:
            return self.imap_port
        return 993 if self.imap_security == "tls" else 143

    @property
    def sms_outbox_path(self) -> Path:
        return self.sms_outbox or self.workspace / "sms-outbox.jsonl"

    _environment: set[str] = PrivateAttr(default_factory=set)

    @field_validator("currency")
    @classmethod
    def _currency_is_iso(cls, value: str) -> str:
        return check_currency(value)

    @field_validator("country", mode="before")
    @classmethod
    def _country_is_iso(cls, value: Any) -> str | None:
        if value is None or not str(value).strip():
            return None
        return check_country(str(value))

    @field_validator("score_runs_kept")
    @classmethod
    def _previous_run_kept(cls, value: int) -> int:
        if value == 1:
            raise ValueError(
                "keep at least 2 runs' scores (the segment moves and the rising-risk tasks "
                "compare with the run before), or 0 to keep every run's"
            )
        return value

    @field_validator("rates", mode="before")
    @classmethod
    def _rates_are_positive(cls, value: Any) -> dict[str, Decimal]:
        return parse_rates(value)

    @model_validator(mode="after")
    def _no_rate_for_the_own_currency(self) -> Settings:
        if self.currency in self.rates:
            raise ValueError(
                f"rates: {self.currency} is the workspace currency and needs no rate; remove it "
                "(soloist rates remove " + self.currency + ")"
            )
        return self

    def from_environment(self, name: str) -> bool:
        """Whether the setting ``name`` came from the environment (``SOLOIST_NAME`` or its
        ``_FILE``), which beats soloist.toml: a change written to the file would not show."""
        return name in self._environment

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


def parse_rates(value: Any) -> dict[str, Decimal]:
    """Exchange rates from a mapping (the TOML table) or text (``"EUR=0.85, JPY=0.0052"``):
    upper-case ISO 4217 codes to positive Decimals; ``ValueError`` naming the bad one."""
    if value is None:
        return {}
    if isinstance(value, str):
        pairs: list[tuple[str, Any]] = []
        for part in re.split(r"[,;\s]+", value.strip()):
            if not part:
                continue
            code, sep, rate = part.partition("=")
            if not sep:
                raise ValueError(f"write each rate as CODE=RATE, got {part!r}")
            pairs.append((code, rate))
    elif isinstance(value, Mapping):
        pairs = list(value.items())
    else:
        raise ValueError(f"a table of CODE = RATE, got {value!r}")
    rates: dict[str, Decimal] = {}
    for code, rate in pairs:
        try:
            rates[check_currency(str(code))] = check_rate(rate)
        except ValueError as exc:
            raise ValueError(f"{code}: {exc}") from None
    return rates


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
    from_environment: set[str] = set()
    for name in Settings.model_fields:
        env_name = f"SOLOIST_{name.upper()}"
        if env_name in env:
            values[name] = env[env_name]
            from_environment.add(name)
    file_variants = _read_file_variants(env)
    values.update(file_variants)
    from_environment |= set(file_variants)
    values["workspace"] = ws
    if database_url:
        values["database_url"] = database_url
    try:
        settings = Settings.model_validate(values)
    except PydanticValidationError as exc:
        problems = "; ".join(
            (".".join(str(p) for p in e["loc"]) + ": " if e["loc"] else "")
            + str(e["msg"]).removeprefix("Value error, ")
            for e in exc.errors()
        )
        raise ConfigurationError(
            f"Invalid setting (in {config_file} or a SOLOIST_ variable): {problems}"
        ) from exc
    settings._environment = from_environment
    return settings


_TABLE_HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\- ]+?)\s*\]\s*(#.*)?$")


def write_config_values(
    workspace: Path, values: Mapping[str, str | None], table: str = "soloist"
) -> Path:
    """Set (a value) or remove (``None``) keys of one table of the workspace's soloist.toml,
    keeping the rest of the file, comments included, as it was; returns the file's path.

    Values are written as TOML strings. The result is read back before it replaces the file:
    a layout this cannot edit safely (say, ``rates = {…}`` written inline) is refused with a
    :class:`ConfigurationError` that asks for the edit by hand, and the file is left alone.
    """
    path = workspace / CONFIG_FILE_NAME
    text = path.read_text(encoding="utf-8") if path.exists() else "[soloist]\n"
    lines = text.splitlines()
    start = next(
        (
            i
            for i, line in enumerate(lines)
            if (m := _TABLE_HEADER.match(line)) and m.group(1).replace(" ", "") == table
        ),
        None,
    )
    if start is None:
        while lines and not lines[-1].strip():
            lines.pop()
        lines += ["", f"[{table}]"] if lines else [f"[{table}]"]
        start = len(lines) - 1
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")),
        len(lines),
    )
    for key, value in values.items():
        pattern = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=")
        found = next((i for i in range(start + 1, end) if pattern.match(lines[i])), None)
        if value is None:
            if found is not None:
                del lines[found]
                end -= 1
            continue
        line = f"{key} = {json.dumps(value)}"
        if found is not None:
            lines[found] = line
            continue
        at = end  # after the table's last key (before its trailing comments and blanks)
        while at > start + 1 and (not lines[at - 1].strip() or lines[at - 1].lstrip()[0] == "#"):
            at -= 1
        lines.insert(at, line)
        end += 1
    new_text = "\n".join(lines) + "\n"
    try:
        section: Any = tomllib.loads(new_text)
        for part in table.split("."):
            section = section.get(part, {})
    except (tomllib.TOMLDecodeError, AttributeError) as exc:
        raise ConfigurationError(
            f"{path} cannot be updated automatically ({exc}); set {dict(values)} in its "
            f"[{table}] table by hand."
        ) from None
    if any(section.get(key) != value for key, value in values.items()):
        raise ConfigurationError(
            f"{path} cannot be updated automatically; set {dict(values)} in its [{table}] "
            "table by hand."
        )
    workspace.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(path.name + ".new")
    scratch.write_text(new_text, encoding="utf-8")
    os.replace(scratch, path)
    return path
