"""The workspace's currency, country and rates: settings, `init`, and the first import."""

from __future__ import annotations

import datetime as dt
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from soloist.config import Settings, load_settings, write_config_values
from soloist.domain.currencies import remove_rates, set_rates
from soloist.domain.customers.records import CustomerCreate, create_customer
from soloist.domain.orders import OrderCreate, record_order
from soloist.domain.workspace import init_workspace, settle_import_currency
from soloist.errors import ConfigurationError, ValidationError
from soloist.storage.database import Database


def _toml(folder: Path) -> dict[str, object]:
    settings: dict[str, object] = tomllib.loads((folder / "soloist.toml").read_text())["soloist"]
    return settings


def _settings(folder: Path, master_key: str, **environ: str) -> Settings:
    return load_settings(workspace=folder, environ={"SOLOIST_MASTER_KEY": master_key, **environ})


def _paid_order(database: Database, currency: str) -> None:
    with database.session() as session:
        customer_id = create_customer(session, CustomerCreate(name="Ada"), "t").id
        record_order(
            session,
            OrderCreate(
                external_id=f"{currency}-1",
                customer_id=customer_id,
                ordered_at=dt.datetime(2025, 1, 2, tzinfo=dt.UTC),
                currency=currency,
                total=Decimal("10.00"),
            ),
            "t",
        )


def test_country_and_rates_are_read_from_the_file_and_the_environment(tmp_path: Path) -> None:
    (tmp_path / "soloist.toml").write_text(
        '[soloist]\ncurrency = "gbp"\ncountry = "cn"\n\n[soloist.rates]\nEUR = "0.86"\nUSD = 0.79\n'
    )
    settings = load_settings(workspace=tmp_path, environ={})
    assert (settings.currency, settings.country) == ("GBP", "CN")
    assert settings.rates == {"EUR": Decimal("0.86"), "USD": Decimal("0.79")}
    assert not settings.from_environment("rates")
    env = {"SOLOIST_COUNTRY": "gb", "SOLOIST_RATES": "EUR=0.9, jpy=0.0052"}
    from_env = load_settings(workspace=tmp_path, environ=env)
    assert from_env.country == "GB"
    assert from_env.rates == {"EUR": Decimal("0.9"), "JPY": Decimal("0.0052")}
    assert from_env.from_environment("rates")
    assert load_settings(workspace=tmp_path / "new", environ={}).country is None


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"SOLOIST_COUNTRY": "UK"}, "country: 'UK' is not an ISO 3166 .*the United Kingdom is GB"),
        ({"SOLOIST_CURRENCY": "EURO"}, "currency: 'EURO' is not an ISO 4217 currency code"),
        ({"SOLOIST_RATES": "EUR=-1"}, "rates: EUR: a rate must be a number above 0"),
        ({"SOLOIST_RATES": "EUR"}, "write each rate as CODE=RATE"),
        ({"SOLOIST_RATES": "USD=1"}, "USD is the workspace currency and needs no rate"),
    ],
)
def test_a_bad_setting_is_refused_naming_it(
    tmp_path: Path, environ: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        load_settings(workspace=tmp_path, environ=environ)


def test_writing_settings_keeps_the_rest_of_the_file(tmp_path: Path) -> None:
    text = (
        "# my notes\n[soloist]\n"
        'currency = "USD"  # was dollars\nlocale = "zh_Hans"\n# a comment\n\n'
        "[other]\nkeep = 1\n"
    )
    (tmp_path / "soloist.toml").write_text(text)
    write_config_values(tmp_path, {"currency": "GBP", "country": "GB"})
    write_config_values(tmp_path, {"EUR": "0.86", "JPY": "0.0052"}, "soloist.rates")
    write_config_values(tmp_path, {"JPY": None}, "soloist.rates")
    written = (tmp_path / "soloist.toml").read_text()
    assert written.startswith("# my notes\n[soloist]\n")
    assert "# a comment" in written
    data = tomllib.loads(written)
    assert data["soloist"]["currency"] == "GBP"
    assert data["soloist"]["country"] == "GB"
    assert data["soloist"]["locale"] == "zh_Hans"
    assert data["soloist"]["rates"] == {"EUR": "0.86"}
    assert data["other"] == {"keep": 1}


def test_a_file_that_cannot_be_edited_safely_is_left_alone(tmp_path: Path) -> None:
    text = '[soloist]\ncurrency = "USD"\nrates = { EUR = "0.86" }\n'
    (tmp_path / "soloist.toml").write_text(text)
    with pytest.raises(ConfigurationError, match="by hand"):
        write_config_values(tmp_path, {"JPY": "0.0052"}, "soloist.rates")
    assert (tmp_path / "soloist.toml").read_text() == text


def test_init_writes_the_currency_and_country_given(tmp_path: Path, master_key: str) -> None:
    result = init_workspace(_settings(tmp_path, master_key), currency="gbp", country="gb")
    assert (result.currency, result.country) == ("GBP", "GB")
    assert _toml(tmp_path)["currency"] == "GBP"
    assert _toml(tmp_path)["country"] == "GB"
    again = init_workspace(_settings(tmp_path, master_key))
    assert (again.currency, again.country, again.changes) == ("GBP", "GB", [])


def test_init_refuses_a_bad_code_before_creating_anything(tmp_path: Path, master_key: str) -> None:
    folder = tmp_path / "ws"
    with pytest.raises(ValidationError, match="--currency: 'DOLLARS' is not an ISO 4217"):
        init_workspace(_settings(folder, master_key), currency="DOLLARS")
    with pytest.raises(ValidationError, match="--country: 'XX' is not an ISO 3166"):
        init_workspace(_settings(folder, master_key), country="XX")
    assert not folder.exists()


def test_init_changes_the_currency_of_a_workspace_without_orders_in_it(
    tmp_path: Path, master_key: str
) -> None:
    init_workspace(_settings(tmp_path, master_key))
    database = Database(_settings(tmp_path, master_key))
    _paid_order(database, "GBP")  # in another currency than the workspace's USD
    database.dispose()
    result = init_workspace(_settings(tmp_path, master_key), currency="GBP", country="FR")
    assert result.changes == ["currency USD → GBP", "country unset → FR"]
    assert _toml(tmp_path)["currency"] == "GBP"


def test_init_refuses_a_new_currency_while_orders_are_in_the_old_one(
    tmp_path: Path, master_key: str
) -> None:
    init_workspace(_settings(tmp_path, master_key))
    database = Database(_settings(tmp_path, master_key))
    _paid_order(database, "USD")
    database.dispose()
    with pytest.raises(ValidationError) as refused:
        init_workspace(_settings(tmp_path, master_key), currency="EUR")
    assert "already has 1 order in USD, so its currency stays USD" in refused.value.message
    assert "soloist rates set EUR RATE" in refused.value.message
    assert _toml(tmp_path)["currency"] == "USD"


def test_init_refuses_a_value_the_environment_would_hide(tmp_path: Path, master_key: str) -> None:
    init_workspace(_settings(tmp_path, master_key))
    with pytest.raises(ValidationError, match="SOLOIST_CURRENCY=EUR is set in the environment"):
        init_workspace(_settings(tmp_path, master_key, SOLOIST_CURRENCY="EUR"), currency="GBP")


def test_rates_are_written_and_removed_and_not_for_the_own_currency(
    tmp_path: Path, master_key: str
) -> None:
    init_workspace(_settings(tmp_path, master_key), currency="GBP")
    assert set_rates(_settings(tmp_path, master_key), {"eur": "0.86"}) == {"EUR": Decimal("0.86")}
    assert _settings(tmp_path, master_key).rates == {"EUR": Decimal("0.86")}
    with pytest.raises(ValidationError, match="GBP is the workspace currency"):
        set_rates(_settings(tmp_path, master_key), {"GBP": "1"})
    with pytest.raises(ValidationError, match="a rate must be a number above 0"):
        set_rates(_settings(tmp_path, master_key), {"USD": "0"})
    with pytest.raises(ValidationError, match="holds exchange rates into GBP"):
        init_workspace(_settings(tmp_path, master_key), currency="EUR")
    assert remove_rates(_settings(tmp_path, master_key), ["EUR"]) == ["EUR"]
    assert _settings(tmp_path, master_key).rates == {}


def test_the_first_file_of_orders_sets_the_workspace_currency(database: Database) -> None:
    settings = database.settings
    write_config_values(settings.workspace, {"currency": "USD"})
    _paid_order(database, "GBP")  # as the import wrote them, in its transaction
    with database.session() as session:
        dry = settle_import_currency(session, settings, {"GBP": 1}, dry_run=True)
        assert _toml(settings.workspace)["currency"] == "USD"
        lines = settle_import_currency(session, settings, {"GBP": 1})
    assert dry == [
        "The workspace currency would become GBP (from the file); change with soloist init "
        "--currency"
    ]
    assert lines == [
        "The workspace currency is now GBP (from the file); change with soloist init --currency"
    ]
    assert _toml(settings.workspace)["currency"] == "GBP"
    assert settings.currency == "GBP"


def test_a_later_file_in_another_currency_stays_outside_the_totals(database: Database) -> None:
    settings = database.settings
    _paid_order(database, "USD")
    _paid_order(database, "EUR")
    with database.session() as session:
        lines = settle_import_currency(session, settings, {"EUR": 1})
        mixed = settle_import_currency(session, settings, {"USD": 3, "EUR": 1})
    assert lines == [
        "1 order in EUR: kept in EUR, outside the USD totals until you give a rate: soloist "
        "rates set EUR RATE (1 EUR = RATE USD)."
    ]
    assert mixed == lines
    assert settings.currency == "USD"
    rated = settings.model_copy(update={"rates": {"EUR": Decimal("0.9")}})
    with database.session() as session:
        counted = settle_import_currency(session, rated, {"EUR": 2})
    assert counted == [
        "2 orders in EUR count in the USD totals at 1 EUR = 0.9 USD (soloist rates)."
    ]


def test_a_currency_pinned_by_the_environment_is_not_adopted(database: Database) -> None:
    env = {"SOLOIST_MASTER_KEY": database.settings.read_master_key(), "SOLOIST_CURRENCY": "USD"}
    pinned = load_settings(workspace=database.settings.workspace, environ=env)
    _paid_order(database, "GBP")
    with database.session() as session:
        lines = settle_import_currency(session, pinned, {"GBP": 1})
    assert "outside the USD totals" in lines[0]
    assert not (database.settings.workspace / "soloist.toml").exists()
