"""Everything held about one person, handed over: ``soloist privacy export`` (GDPR art. 15 and
20, the right of access and to data portability).

The person's rows are found through the schema rather than a list kept by hand: every table
with a column pointing at ``customers`` (orders, tickets, consents, the loyalty ledger, messages,
scores …), then the tables pointing at those rows (order lines, ticket messages, message
events …). So a table added later is exported the day it exists. Values are read through the
models' types, so encrypted fields come out decrypted; keyed lookup hashes, token hashes and
other internal secrets are left out. The archive holds ``data.json`` (every table), one CSV per
table (formula cells neutralised, as every export) and a README in the person's language.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Table, or_, select
from sqlalchemy.orm import Session

from soloist.domain.audit import record_audit
from soloist.domain.exports import csv_safe
from soloist.errors import NotFoundError
from soloist.storage.models import Base, Customer

#: Columns that are internal machinery, not information about the person.
HIDDEN_SUFFIXES = ("_hash", "_secret", "token")
#: Shared business data a person's rows point at, never exported as theirs.
NOT_THEIRS = frozenset({"users", "api_tokens", "audit_log", "products", "segments", "campaigns"})
#: Links from another person's row to this one (whom they were referred by): not this person's.
OTHERS = frozenset({"referred_by_id"})

README = {
    "en": """Your data held by {business}

This archive holds everything we keep about you, as of {when} (UTC):

- data.json: every record, grouped by kind, in one file that programs can read;
- csv/: the same records as spreadsheets, one file per kind.

What the kinds are: customers (your profile), orders and order_lines (what you bought),
interactions, reviews and survey_responses (what you told us), tickets and ticket_messages
(your support requests), loyalty_accounts and loyalty_ledger (your points), consent_records
(what you agreed to, when and how), messages and message_events (what we sent you and what
happened to it), customer_scores (what our models estimate about you, with their reasons).

Kinds you have no records of are left out. To have any of it corrected or erased, reply to us.
""",
    "zh": """{business} 保存的您的数据

本压缩包包含截至 {when}（UTC）我们保存的关于您的全部数据：

- data.json：按类别分组的全部记录，便于程序读取；
- csv/：相同的记录，以表格形式保存，每个类别一个文件。

各类别含义：customers（您的资料）、orders 与 order_lines（您的购买）、interactions、reviews 与
survey_responses（您告诉我们的内容）、tickets 与 ticket_messages（您的客服请求）、
loyalty_accounts 与 loyalty_ledger（您的积分）、consent_records（您同意的内容、时间和方式）、
messages 与 message_events（我们发给您的信息及其状态）、
customer_scores（我们的模型对您的估计及理由）。

没有记录的类别不包含在内。如需更正或删除任何数据，请回复我们。
""",
}


@dataclass
class PersonalExport:
    customer_id: int
    path: Path
    language: str
    tables: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "path": str(self.path),
            "language": self.language,
            "records": self.tables,
        }


def _shown(table: Table) -> list[str]:
    return [c.name for c in table.columns if not c.name.endswith(HIDDEN_SUFFIXES)]


def _points_at(table: Table, targets: set[str]) -> list[tuple[str, str]]:
    """(column, target table) for each of ``table``'s foreign keys into ``targets``."""
    return [
        (column.name, fk.column.table.name)
        for column in table.columns
        for fk in column.foreign_keys
        if fk.column.table.name in targets and fk.column.name == "id"
    ]


def personal_records(session: Session, customer_id: int) -> dict[str, list[dict[str, Any]]]:
    """The person's rows by table: the tables pointing at the customer, then theirs."""
    if session.get(Customer, customer_id) is None:
        raise NotFoundError(f"No customer with id {customer_id}.", customer_id=customer_id)
    found: dict[str, list[dict[str, Any]]] = {}
    ids: dict[str, set[Any]] = {"customers": {customer_id}}
    tables = [t for t in Base.metadata.sorted_tables if t.name not in NOT_THEIRS]
    for level in range(2):
        for table in tables:
            if table.name in found:
                continue
            if table.name == "customers":  # the person, and duplicates merged into them
                links = [("id", "customers"), ("merged_into_id", "customers")] if level == 0 else []
            else:
                targets = {"customers"} if level == 0 else set(ids) - {"customers"}
                links = [link for link in _points_at(table, targets) if link[0] not in OTHERS]
            conditions = [table.c[col].in_(ids[target]) for col, target in links if ids[target]]
            if not conditions:
                continue
            rows = session.execute(
                select(*(table.c[name] for name in _shown(table))).where(or_(*conditions))
            ).mappings()
            records = [dict(row) for row in rows]
            if records:
                found[table.name] = records
                if "id" in table.c:
                    ids[table.name] = {r["id"] for r in records if "id" in r}
    return found


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


def export_person(
    session: Session, customer_id: int, path: Path, actor: str, *, business: str = "Soloist"
) -> PersonalExport:
    """Write the person's archive to ``path`` (a .zip); audited without the data itself."""
    records = personal_records(session, customer_id)
    customer = session.get(Customer, customer_id)
    assert customer is not None
    language = "zh" if (customer.language or "").lower().startswith("zh") else "en"
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    result = PersonalExport(customer_id, path, language, {k: len(v) for k, v in records.items()})
    plain = {name: [{k: _plain(v) for k, v in row.items()} for row in rows]
             for name, rows in records.items()}  # fmt: skip
    partial = path.with_name(path.name + ".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        readme = README[language].format(business=business, when=now.isoformat(sep=" "))
        archive.writestr("README.txt", readme)
        archive.writestr("data.json", json.dumps(plain, ensure_ascii=False, indent=2))
        for name, rows in plain.items():
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
            writer.writeheader()
            for row in rows:
                writer.writerow({k: csv_safe(_cell(v)) for k, v in row.items()})
            archive.writestr(f"csv/{name}.csv", "\ufeff" + buffer.getvalue())
    partial.chmod(0o600)
    partial.replace(path)
    record_audit(session, actor, "customer.data_exported", "customer", customer_id,
                 {"records": sum(result.tables.values())})  # fmt: skip
    return result


def _cell(value: Any) -> Any:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value
