"""The workspace currency from the command line: `init --currency/--country`, the first import
of a GBP file, `status` per currency, `rates`."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

DATA = Path(__file__).parents[1] / "data"
RETAIL_DECEMBER = DATA / "online-retail" / "online_retail_2010-12.csv.gz"
SHOPIFY_EUR = DATA / "shopify_orders_export.csv"  # three orders in EUR, one of them paid


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "COLUMNS": "250", **(env or {})}
    for name in ("SOLOIST_DATABASE_URL", "SOLOIST_CURRENCY", "SOLOIST_COUNTRY", "SOLOIST_RATES"):
        environment.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "soloist", *args],
        input="",  # not a terminal: nothing is asked
        capture_output=True,
        text=True,
        env=environment,
        check=False,
        timeout=120,
    )


def settings_file(folder: Path) -> dict[str, object]:
    data: dict[str, object] = tomllib.loads((folder / "soloist.toml").read_text())["soloist"]
    return data


def status(folder: Path) -> dict[str, object]:
    result = run("status", "--workspace", str(folder), "--json")
    assert result.returncode == 0, result.stderr
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_init_sets_the_currency_and_the_phone_country(tmp_path: Path) -> None:
    folder = tmp_path / "shop"
    result = run("init", "--workspace", str(folder), "--currency", "gbp", "--country", "gb")
    assert result.returncode == 0, result.stderr
    assert "Currency GBP, phone country GB" in result.stdout
    assert settings_file(folder)["currency"] == "GBP"
    assert settings_file(folder)["country"] == "GB"
    figures = status(folder)
    assert (figures["currency"], figures["revenue"]) == ("GBP", "0.00")


def test_init_without_a_terminal_takes_the_defaults_without_asking(tmp_path: Path) -> None:
    folder = tmp_path / "ci"
    result = run("init", "--workspace", str(folder), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["currency"], report["country"]) == ("USD", None)
    assert "country" not in settings_file(folder)


def test_init_on_a_terminal_asks_for_the_currency_and_the_country(tmp_path: Path) -> None:
    folder = tmp_path / "asked"
    environment = {**os.environ, "LANG": "de_DE.UTF-8"}
    for name in ("CI", "SOLOIST_DATABASE_URL", "SOLOIST_CURRENCY", "SOLOIST_COUNTRY"):
        environment.pop(name, None)
    terminal, answers = pty.openpty()
    try:
        os.write(terminal, b"dollars\nCHF\n\n")  # a bad answer is asked again; "" takes DE
        done = subprocess.run(
            [sys.executable, "-m", "soloist", "init", "--workspace", str(folder)],
            stdin=answers,
            capture_output=True,
            text=True,
            env=environment,
            check=False,
            timeout=120,
        )
    finally:
        os.close(terminal)
        os.close(answers)
    assert done.returncode == 0, done.stderr
    assert "Currency of your business (ISO 4217: USD, EUR, GBP, CNY …) [EUR]" in done.stdout
    assert "Error: 'dollars' is not an ISO 4217 currency code" in done.stdout
    assert settings_file(folder)["currency"] == "CHF"
    assert settings_file(folder)["country"] == "DE"


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--currency", "XYZ", "'XYZ' is not an ISO 4217 currency code (such as USD, EUR, GBP"),
        ("--country", "UK", "'UK' is not an ISO 3166 two-letter country code"),
    ],
)
def test_init_refuses_a_bad_code_as_bad_usage(
    tmp_path: Path, option: str, value: str, message: str
) -> None:
    folder = tmp_path / "bad"
    result = run("init", "--workspace", str(folder), option, value)
    assert result.returncode == 2
    assert f"Invalid value for '{option}'" in result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not folder.exists()


@pytest.mark.slow
def test_the_first_retail_file_in_gbp_makes_a_gbp_workspace(tmp_path: Path) -> None:
    folder = tmp_path / "retail"
    assert run("init", "--workspace", str(folder)).returncode == 0
    assert settings_file(folder)["currency"] == "USD"
    dry = run("import", "orders", str(RETAIL_DECEMBER), "--currency", "GBP",
              "--dry-run", "--workspace", str(folder))  # fmt: skip
    assert "The workspace currency would become GBP (from the file)" in dry.stdout
    assert settings_file(folder)["currency"] == "USD"
    result = run("import", "orders", str(RETAIL_DECEMBER), "--currency", "GBP",
                 "--workspace", str(folder))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (
        "The workspace currency is now GBP (from the file); change with soloist init --currency"
        in result.stdout
    )
    assert settings_file(folder)["currency"] == "GBP"
    figures = status(folder)
    assert figures["currency"] == "GBP"
    assert figures["revenue_by_currency"] == {"GBP": figures["revenue"]}
    assert Decimal(str(figures["revenue"])) > 500_000  # December 2010's paid invoices
    assert figures["warnings"] == []
    refused = run("init", "--workspace", str(folder), "--currency", "USD")
    assert refused.returncode == 1
    assert f"already has {figures['orders']:,} orders in GBP" in refused.stderr
    assert "soloist rates set USD RATE" in refused.stderr
    assert settings_file(folder)["currency"] == "GBP"
    # the loyalty programme follows, so a GBP shop's orders earn points
    loyalty = run("loyalty", "settings", "--workspace", str(folder))
    assert "currency = GBP" in loyalty.stdout


@pytest.mark.slow
def test_orders_in_another_currency_count_only_at_the_rate_given(tmp_path: Path) -> None:
    folder = tmp_path / "two"
    assert run("init", "--workspace", str(folder), "--currency", "GBP").returncode == 0
    own = tmp_path / "gbp.csv"
    own.write_text(
        "order id,email,date,total,currency\n"
        "A-1,ann@example.com,2024-01-03,20.00,GBP\n"
        "A-2,bob@example.com,2024-01-04,5.50,GBP\n"
    )
    assert run("import", "orders", str(own), "--workspace", str(folder)).returncode == 0
    other = run("import", "orders", str(SHOPIFY_EUR), "--workspace", str(folder), "--json")
    assert other.returncode == 0, other.stderr
    report = json.loads(other.stdout)
    assert report["currencies"] == {"EUR": 3}
    assert report["currency_notes"] == [
        "3 orders in EUR: kept in EUR, outside the GBP totals until you give a rate: "
        "soloist rates set EUR RATE (1 EUR = RATE GBP)."
    ]
    assert settings_file(folder)["currency"] == "GBP"

    before = status(folder)
    assert before["revenue"] == "25.50"
    assert before["revenue_by_currency"] == {"GBP": "25.50", "EUR": "42.90"}
    assert before["unconverted"] == ["EUR"]
    shown = run("status", "--workspace", str(folder))
    assert "42.90 EUR, no rate: not in the revenue" in shown.stdout
    assert "Warning: 1 paid order in EUR (42.90 EUR) not in the GBP total" in shown.stderr

    assert run("rates", "set", "EUR", "0.86", "--workspace", str(folder)).returncode == 0
    after = status(folder)
    assert after["revenue"] == "62.39"  # 25.50 + 42.90 × 0.86 (36.894 → 36.89)
    assert after["rates"] == {"EUR": "0.86"}
    assert (after["unconverted"], after["warnings"]) == ([], [])
    shown = run("status", "--workspace", str(folder))
    assert "42.90 EUR = 36.89 GBP at 1 EUR = 0.86 GBP" in shown.stdout
    listed = json.loads(run("rates", "list", "--workspace", str(folder), "--json").stdout)
    assert listed["rates"][1] == {
        "currency": "EUR",
        "paid_orders": 1,
        "amount": "42.90",
        "rate": "0.86",
        "counted": True,
    }
    bad = run("rates", "set", "EUR", "zero", "--workspace", str(folder))
    assert bad.returncode == 2
    assert "'zero' is not a number" in bad.stderr
    assert run("rates", "remove", "EUR", "--workspace", str(folder)).returncode == 0
    assert status(folder)["revenue"] == "25.50"


def test_a_first_subscription_book_sets_the_currency_too(tmp_path: Path) -> None:
    """A subscription business imports no orders: its book's currency is the workspace's."""
    folder = tmp_path / "book"
    assert run("init", "--workspace", str(folder)).returncode == 0
    book = tmp_path / "book.csv"
    book.write_text(
        "customerID,tenure,Contract,MonthlyCharges,Churn\n"
        "A-1,12,Month-to-month,29.85,No\n"
        "A-2,3,One year,56.95,Yes\n",
        encoding="utf-8",
    )
    result = run("import", "subscriptions", str(book), "--currency", "GBP", "--as-of",
                 "2024-06-30", "--workspace", str(folder))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "The workspace currency is now GBP (from the file)" in result.stdout
    assert settings_file(folder)["currency"] == "GBP"
