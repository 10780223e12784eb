"""A subscription snapshot (the Telco layout: a tenure in months, churn yes/no) imports as
subscriptions dated back from the snapshot's day, its other columns as the customers' own
fields; a bad tenure or churn cell is refused, naming row and column."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select

from soloist.domain.imports import ImportOptions, import_file, preview_import
from soloist.errors import ImportRefusedError, UsageError
from soloist.imports.formats.snapshot import cancellation_day, months_before, parse_tenure
from soloist.storage.database import Database
from soloist.storage.models import AuditEntry, Customer, Subscription

AS_OF = dt.date(2024, 3, 31)
TELCO_HEADER = "customerID,gender,tenure,Contract,MonthlyCharges,TotalCharges,Churn\n"


@pytest.mark.parametrize(
    ("day", "months", "start"),
    [
        (dt.date(2024, 3, 31), 1, dt.date(2024, 2, 29)),  # a leap February's end
        (dt.date(2023, 3, 31), 1, dt.date(2023, 2, 28)),
        (dt.date(2024, 3, 31), 0, dt.date(2024, 3, 31)),
        (dt.date(2024, 3, 31), 13, dt.date(2023, 2, 28)),
        (dt.date(2024, 1, 15), 1, dt.date(2023, 12, 15)),  # across the new year
        (dt.date(2024, 6, 30), 72, dt.date(2018, 6, 30)),
        (dt.date(2024, 5, 31), 3, dt.date(2024, 2, 29)),
    ],
)
def test_a_tenure_counts_back_calendar_months_clamped_at_month_ends(
    day: dt.date, months: int, start: dt.date
) -> None:
    assert months_before(day, months) == start


def test_a_churner_is_taken_to_have_left_mid_month_before_the_snapshot_never_before_the_start() -> (
    None
):
    assert cancellation_day(dt.date(2024, 6, 30), dt.date(2020, 1, 30)) == dt.date(2024, 6, 14)
    assert cancellation_day(AS_OF, dt.date(2020, 1, 31)) == dt.date(2024, 3, 15)
    assert cancellation_day(AS_OF, AS_OF) == AS_OF  # tenure 0


@pytest.mark.parametrize("text", ["-1", "2.5", "twelve", "1201"])
def test_a_tenure_is_whole_months_from_0_to_a_century(text: str) -> None:
    with pytest.raises(ValueError, match="tenure"):
        parse_tenure(text)


def _write(tmp_path: Path, body: str, name: str = "telco.csv") -> Path:
    path = tmp_path / name
    path.write_text(TELCO_HEADER + body, encoding="utf-8")
    return path


def _import(database: Database, path: Path, **given: object) -> dict[str, object]:
    with database.session() as session:
        return import_file(
            session, "subscriptions", path, ImportOptions(as_of=AS_OF, **given), "test"
        ).to_dict()


def _counts(database: Database) -> tuple[int, int]:
    with database.session() as session:
        customers = session.scalar(select(func.count()).select_from(Customer))
        subscriptions = session.scalar(select(func.count()).select_from(Subscription))
    return int(customers or 0), int(subscriptions or 0)


def test_a_snapshot_imports_dated_back_from_its_day_with_the_other_columns_as_fields(
    database: Database, tmp_path: Path
) -> None:
    path = _write(
        tmp_path,
        "0001-A,Female,1,Month-to-month,29.85,29.85,No\n"
        "0002-B,Male,13,One year,56.95,740.35,Yes\n"
        "0003-C,Male,0,Two year,52.55, ,No\n",
    )
    report = _import(database, path)
    assert (report["format"], report["imported"], report["invalid"]) == (
        "subscription-snapshot",
        3,
        0,
    )
    assert any("as of 2024-03-31 (the day given)" in note for note in report["notes"])
    with database.session() as session:
        subs = {
            s.external_id: s
            for s in session.scalars(select(Subscription).order_by(Subscription.external_id))
        }
        fields = dict(session.execute(select(Customer.external_id, Customer.custom_fields)).all())
        by_sub = {
            key: (s.plan, s.status, s.price_minor, s.billing_interval) for key, s in subs.items()
        }
        starts = {key: s.started_at.date() for key, s in subs.items()}
        ends = {key: s.cancelled_at and s.cancelled_at.date() for key, s in subs.items()}
    assert by_sub == {
        "file:0001-A:subscription": ("Month-to-month", "active", 2985, "month"),
        "file:0002-B:subscription": ("One year", "cancelled", 5695, "month"),
        "file:0003-C:subscription": ("Two year", "active", 5255, "month"),
    }
    assert starts == {
        "file:0001-A:subscription": dt.date(2024, 2, 29),
        "file:0002-B:subscription": dt.date(2023, 2, 28),
        "file:0003-C:subscription": AS_OF,
    }
    assert ends == {
        "file:0001-A:subscription": None,
        "file:0002-B:subscription": dt.date(2024, 3, 15),
        "file:0003-C:subscription": None,
    }
    # the churn flag is the status, not a field; a blank TotalCharges is left out
    assert fields == {
        "file:0001-A": {"gender": "Female", "TotalCharges": "29.85"},
        "file:0002-B": {"gender": "Male", "TotalCharges": "740.35"},
        "file:0003-C": {"gender": "Male"},
    }
    again = _import(database, path)
    assert (again["status"], again["imported"], again["updated"], again["unchanged"]) == (
        "unchanged",
        0,
        0,
        3,
    )
    assert again["customers"]["updated"] == 0

    # a later snapshot of the same book updates the subscriptions and the changed fields
    path.write_text(
        TELCO_HEADER + "0001-A,Female,2,One year,35.00,64.85,No\n"
        "0002-B,Male,13,One year,56.95,740.35,Yes\n"
        "0003-C,Male,0,Two year,52.55, ,No\n",
        encoding="utf-8",
    )
    later = _import(database, path)
    assert (later["imported"], later["updated"], later["unchanged"]) == (0, 1, 2)
    assert later["customers"]["updated"] == 1
    assert _counts(database) == (3, 3)
    with database.session() as session:
        ana = session.scalars(select(Customer).where(Customer.external_id == "file:0001-A")).one()
        assert ana.custom_fields == {"gender": "Female", "TotalCharges": "64.85"}
        audits = session.scalars(
            select(AuditEntry.changes).where(
                AuditEntry.action == "customer.updated_by_import",
                AuditEntry.entity_id == str(ana.id),
            )
        ).all()
    assert audits == [
        {
            "custom_fields": [
                {"gender": "Female", "TotalCharges": "29.85"},
                {"gender": "Female", "TotalCharges": "64.85"},
            ]
        }
    ]


def test_a_dry_run_counts_and_writes_nothing(sqlite_database: Database, tmp_path: Path) -> None:
    path = _write(tmp_path, "0001-A,Female,1,Month-to-month,29.85,29.85,No\n")
    report = _import(sqlite_database, path, dry_run=True)
    assert (report["status"], report["imported"], report["customers"]["created"]) == (
        "dry_run",
        1,
        1,
    )
    assert _counts(sqlite_database) == (0, 0)


def test_a_bad_tenure_or_churn_refuses_the_file_naming_row_and_column(
    sqlite_database: Database, tmp_path: Path
) -> None:
    path = _write(
        tmp_path,
        "0001-A,Female,1,Month-to-month,29.85,29.85,No\n"
        "0002-B,Male,-3,One year,56.95,740.35,No\n"
        "0003-C,Male,4,Two year,52.55,210.2,Maybe\n"
        "0004-D,Male,,Two year,52.55,0,No\n"
        "0005-E,Male,2.5,Two year,52.55,0,No\n",
    )
    with pytest.raises(ImportRefusedError) as refused:
        _import(sqlite_database, path)
    errors = [(e["row"], e["column"], e["message"]) for e in refused.value.details["errors"]]
    assert errors == [
        (3, "tenure", "tenure must be 0 months or more, got -3"),
        (
            4,
            "Churn",
            "churn must be yes or no (or 1/0, true/false), got 'Maybe'; read another word as "
            "one with --map-value churned:WORD=yes",
        ),
        (5, "tenure", "tenure is missing"),
        (6, "tenure", "tenure must be a whole number of months, got '2.5'"),
    ]
    assert _counts(sqlite_database) == (0, 0)  # all or nothing
    report = _import(sqlite_database, path, skip_invalid=True)
    assert (report["imported"], report["invalid"]) == (1, 4)
    mapped = _import(
        sqlite_database, path, skip_invalid=True, value_map={"churned": {"maybe": "yes"}}
    )
    assert (mapped["imported"], mapped["unchanged"], mapped["invalid"]) == (1, 1, 3)


def test_generic_names_are_recognised_and_the_day_defaults_to_today(
    sqlite_database: Database, tmp_path: Path
) -> None:
    path = tmp_path / "book.csv"
    path.write_text(
        "email,months_subscribed,plan,monthly_charge,churned,region\n"
        "a@example.com,3,Basic,20.00,0,North\n"
        "b@example.com,5,Pro,30.00,1,South\n",
        encoding="utf-8",
    )
    preview = preview_import(path, "subscriptions")
    assert preview.format == "subscription-snapshot"
    assert preview.mapping == {
        "email": "email",
        "plan": "plan",
        "tenure": "months_subscribed",
        "price": "monthly_charge",
        "churned": "churned",
    }
    with sqlite_database.session() as session:
        report = import_file(session, "subscriptions", path, ImportOptions(), "test")
    today = dt.datetime.now(dt.UTC).date()
    assert report.imported == 2
    assert any(f"as of {today} (today;" in note for note in report.notes)
    assert "kept as the customers' own fields: region" in report.notes
    with sqlite_database.session() as session:
        statuses = sorted(session.scalars(select(Subscription.status)).all())
    assert statuses == ["active", "cancelled"]


def test_a_snapshot_day_after_today_is_bad_usage(sqlite_database: Database, tmp_path: Path) -> None:
    path = _write(tmp_path, "0001-A,Female,1,Month-to-month,29.85,29.85,No\n")
    later = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2)
    with sqlite_database.session() as session, pytest.raises(UsageError, match="after today"):
        import_file(session, "subscriptions", path, ImportOptions(as_of=later), "test")


def test_a_subscriptions_file_with_a_tenure_and_a_status_is_read_as_a_snapshot(
    sqlite_database: Database, tmp_path: Path
) -> None:
    path = tmp_path / "book.csv"
    path.write_text(
        "customer id,plan,price,status,tenure months\n"
        "c1,Basic,9.00,cancelled,3\n"
        "c2,Pro,19,active,1\n",
        encoding="utf-8",
    )
    report = _import(sqlite_database, path)
    assert (report["format"], report["imported"]) == ("subscription-snapshot", 2)
    with sqlite_database.session() as session:
        rows = session.execute(
            select(
                Subscription.status, Subscription.started_at, Subscription.cancelled_at
            ).order_by(Subscription.external_id)
        ).all()
    assert [(s, a.date(), c and c.date()) for s, a, c in rows] == [
        ("cancelled", dt.date(2023, 12, 31), dt.date(2024, 3, 15)),
        ("active", dt.date(2024, 2, 29), None),
    ]
