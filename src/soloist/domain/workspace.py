"""Creating, upgrading and opening a workspace; its currency and country.

The workspace currency is a setting (``currency`` in soloist.toml): every total, the dashboard
and the analyses are in it. ``soloist init --currency`` sets it, and may change it while no order
is in the old one; the first import of orders into a workspace with none in its currency adopts
the file's currency (:func:`settle_import_currency`). Orders in other currencies keep theirs and
count in the totals at the owner's rates (:mod:`soloist.domain.currencies`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, make_url, select
from sqlalchemy.orm import Session

from soloist.config import (
    CONFIG_FILE_NAME,
    DEFAULT_CURRENCY,
    Settings,
    write_config_values,
)
from soloist.countries import check_country
from soloist.domain.currencies import count_orders, describe_rate
from soloist.errors import ValidationError
from soloist.money import check_currency
from soloist.storage.crypto import generate_master_key
from soloist.storage.database import Database
from soloist.storage.migrate import current_revision, head_revision, upgrade_database
from soloist.storage.models import Order, Subscription
from soloist.storage.planner import refresh_statistics

CONFIG_TEMPLATE = """\
# Soloist workspace settings. Every key can also be set as SOLOIST_<KEY> in the environment.
[soloist]
# The business's own currency (ISO 4217): totals, CLV and the analyses are in it.
currency = "{currency}"
# The country (ISO 3166) of phone numbers written without +country code.
{country_line}
locale = "en"
timezone = "UTC"
{database_line}

# Exchange rates into the workspace currency for orders in other currencies:
# 1 unit of the currency on the left is worth RATE of the workspace currency.
# `soloist rates set EUR 0.85` writes them here.
# [soloist.rates]
# EUR = "0.85"
"""


@dataclass(frozen=True)
class InitResult:
    workspace: Path
    database_url: str
    backend: str
    created_key: bool
    previous_revision: str | None
    revision: str | None
    currency: str = "USD"
    country: str | None = None
    changes: list[str] = field(default_factory=list)  # "currency USD → GBP", …


def _database_line(url: str | None) -> str:
    """The new config file's database line: the URL the workspace was made with, so that later
    commands without ``--db`` open the same database. A URL with a password stays out of the
    file (give it as ``SOLOIST_DATABASE_URL``)."""
    if url and make_url(url).password is None:
        return f"database_url = {json.dumps(url)}"  # a TOML basic string is JSON's
    return '# database_url = "postgresql+psycopg://user@127.0.0.1/soloist"'


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(text + "\n")


def _checked(value: str | None, check: Callable[[str], str], option: str) -> str | None:
    if value is None:
        return None
    try:
        return check(value)
    except ValueError as exc:
        raise ValidationError(f"{option}: {exc}.") from None


def _refuse_environment(settings: Settings, name: str, wanted: str | None) -> None:
    current = getattr(settings, name)
    if wanted is not None and wanted != current and settings.from_environment(name):
        variable = f"SOLOIST_{name.upper()}"
        raise ValidationError(
            f"{variable}={current} is set in the environment and beats soloist.toml, so "
            f"--{name} {wanted} would not take effect: unset {variable} (or set it to {wanted})."
        )


def init_workspace(
    settings: Settings, *, currency: str | None = None, country: str | None = None
) -> InitResult:
    """Create the workspace folder, its master key and settings file, and migrate the database.

    Safe to run again: an existing key and settings file are kept, the schema is upgraded.
    ``currency`` (ISO 4217) and ``country`` (ISO 3166 alpha-2) go into a new settings file; in
    an existing workspace they change its settings, except a currency change while orders are
    in the old currency, which is refused (:func:`change_workspace_currency`).
    """
    wanted_currency = _checked(currency, check_currency, "--currency")
    wanted_country = _checked(country, check_country, "--country")
    _refuse_environment(settings, "currency", wanted_currency)
    _refuse_environment(settings, "country", wanted_country)
    settings.workspace.mkdir(parents=True, exist_ok=True)
    created_key = False
    if settings.master_key is None and not settings.key_file.exists():
        _write_private(settings.key_file, generate_master_key())
        created_key = True
    config_file = settings.workspace / CONFIG_FILE_NAME
    changes: list[str] = []
    new_config = not config_file.exists()
    if new_config:
        final_currency = wanted_currency or settings.currency
        final_country = wanted_country or settings.country
        country_line = f'country = "{final_country}"' if final_country else '# country = "GB"'
        config_file.write_text(
            CONFIG_TEMPLATE.format(
                currency=final_currency,
                country_line=country_line,
                database_line=_database_line(settings.database_url),
            ),
            encoding="utf-8",
        )
    database = Database(settings)
    try:
        before = current_revision(database.engine)
        upgrade_database(database.engine)
        with database.engine.begin() as connection:
            refresh_statistics(connection)
        final_currency, final_country = settings.currency, settings.country
        if new_config:
            final_currency = wanted_currency or settings.currency
            final_country = wanted_country or settings.country
            with database.session() as session:
                loyalty_follows_currency(session, DEFAULT_CURRENCY, final_currency)
        else:
            if wanted_currency and wanted_currency != settings.currency:
                with database.session() as session:
                    change_workspace_currency(session, settings, wanted_currency)
                    loyalty_follows_currency(session, settings.currency, wanted_currency)
                changes.append(f"currency {settings.currency} → {wanted_currency}")
                final_currency = wanted_currency
            if wanted_country and wanted_country != settings.country:
                write_config_values(settings.workspace, {"country": wanted_country})
                changes.append(f"country {settings.country or 'unset'} → {wanted_country}")
                final_country = wanted_country
        return InitResult(
            workspace=settings.workspace,
            database_url=database.engine.url.render_as_string(hide_password=True),
            backend=database.backend,
            created_key=created_key,
            previous_revision=before,
            revision=head_revision(),
            currency=final_currency,
            country=final_country,
            changes=changes,
        )
    finally:
        database.dispose()


def loyalty_follows_currency(session: Session, old: str, new: str) -> None:
    """The loyalty programme earns on orders in one currency: when it was the workspace's old
    one (USD by default), it follows the workspace to the new one, so a GBP shop earns points."""
    from soloist.domain.loyalty.rules import get_programme_settings, update_programme_settings

    if old != new and get_programme_settings(session).currency == old:
        update_programme_settings(session, {"currency": new}, "workspace")


def count_orders_by_currency(session: Session) -> dict[str, int]:
    """How many orders and subscriptions (any status) the workspace holds in each currency."""
    held: dict[str, int] = {}
    for table in (Order, Subscription):
        rows = session.execute(
            select(table.currency, func.count(table.id)).group_by(table.currency)
        )
        for code, count in rows:
            held[str(code)] = held.get(str(code), 0) + int(count)
    return held


def change_workspace_currency(session: Session, settings: Settings, currency: str) -> None:
    """Make ``currency`` the workspace currency in soloist.toml.

    Refused while orders are in the current one (their totals, scores and loyalty would change
    meaning: count other currencies at a rate instead) or while soloist.toml holds rates, which
    are rates into the current currency.
    """
    new = _checked(currency, check_currency, "--currency") or currency
    old = settings.currency
    if new == old:
        return
    _refuse_environment(settings, "currency", new)
    held = count_orders_by_currency(session).get(old, 0)
    if held:
        raise ValidationError(
            f"The workspace already has {count_orders(held)} in {old}, so its currency stays "
            f"{old}: changing it would change the meaning of every total and score. To count "
            f"orders in {new} in the {old} totals, give a rate: `soloist rates set {new} RATE` "
            f"(1 {new} = RATE {old}). To work in {new}, start a new workspace: "
            f"`soloist init --workspace NEW_FOLDER --currency {new}`."
        )
    if settings.rates:
        raise ValidationError(
            f"soloist.toml holds exchange rates into {old} ({', '.join(settings.rates)}), which "
            f"would be wrong in {new}: remove them first (`soloist rates remove "
            f"{' '.join(settings.rates)}`), change the currency, then give the rates into {new}."
        )
    write_config_values(settings.workspace, {"currency": new})


def settle_import_currency(
    session: Session,
    settings: Settings,
    file_currencies: Mapping[str, int],
    *,
    dry_run: bool = False,
) -> list[str]:
    """After an import of orders (in the import's session, before commit): what to tell the
    user about the file's currencies, one line each.

    ``file_currencies``: how many orders of the file are in each currency (the import report's
    ``currencies``). When they are all in one currency that is not the workspace's, and the
    workspace holds no order in any other (it was empty, or only ever got this currency),
    the workspace adopts it: soloist.toml's ``currency`` is rewritten, and ``settings``
    updated (not on a dry run; not when SOLOIST_CURRENCY or rates pin the currency).
    Otherwise each other currency is said to count at its rate, or to stay outside the totals
    until a rate is given.
    """
    currency = settings.currency
    foreign = {code: n for code, n in sorted(file_currencies.items()) if code != currency and n}
    if not foreign:
        return []
    if len(foreign) == 1 and len([n for n in file_currencies.values() if n]) == 1:
        (code,) = foreign
        others = sum(n for c, n in count_orders_by_currency(session).items() if c != code)
        pinned = settings.from_environment("currency") or bool(settings.rates)
        if not others and not pinned:
            if dry_run:
                return [
                    f"The workspace currency would become {code} (from the file); "
                    "change with soloist init --currency"
                ]
            write_config_values(settings.workspace, {"currency": code})
            loyalty_follows_currency(session, currency, code)
            settings.currency = code  # and for the rest of this process (a running server)
            return [
                f"The workspace currency is now {code} (from the file); "
                "change with soloist init --currency"
            ]
    lines = []
    for code, orders in foreign.items():
        rate = settings.rates.get(code)
        if rate is not None:
            lines.append(
                f"{count_orders(orders)} in {code} count in the {currency} totals at "
                f"{describe_rate(code, rate, currency)} (soloist rates)."
            )
        else:
            lines.append(
                f"{count_orders(orders)} in {code}: kept in {code}, outside the {currency} "
                f"totals until you give a rate: soloist rates set {code} RATE "
                f"(1 {code} = RATE {currency})."
            )
    return lines


def open_workspace(settings: Settings) -> Database:
    """The workspace's database, refusing one whose schema is older than this Soloist."""
    from soloist.errors import ConfigurationError

    database = Database(settings)
    revision = current_revision(database.engine)
    if revision != head_revision():
        database.dispose()
        if revision is None:
            raise ConfigurationError(
                f"The database {settings.resolved_database_url} has no Soloist schema; "
                "run `soloist init` first."
            )
        raise ConfigurationError(
            f"The database schema is at revision {revision}; run `soloist init` to upgrade it."
        )
    return database
