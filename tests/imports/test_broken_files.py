"""Broken files thrown at every parser: only ImportRefusedError comes out, nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.imports.import_helpers import snapshot

from soloist.domain.imports.pipeline import ImportOptions, import_file
from soloist.errors import ImportRefusedError
from soloist.imports import FORMATS, KINDS
from soloist.storage.database import Database

DATA = Path(__file__).parents[1] / "data"
SEEDS = sorted(
    p for p in DATA.iterdir() if p.suffix in (".csv", ".txt") and p.stat().st_size < 400_000
)


def _mangle(data: bytes, cuts: list[int], junk: bytes) -> bytes:
    for cut in cuts:
        position = cut % (len(data) + 1)
        data = data[:position] + junk + data[position + len(junk) // 2 :]
    return data


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.sampled_from([p.name for p in SEEDS]),
    cuts=st.lists(st.integers(min_value=0, max_value=5000), min_size=1, max_size=4),
    junk=st.binary(max_size=12)
    | st.sampled_from([b",", b'"', b"\n", b"\xff\xfe", b"\x00", b"-1e999"]),
    kind=st.sampled_from(KINDS),
    fmt=st.sampled_from(["auto", *FORMATS.names()]),
    head=st.integers(min_value=0, max_value=60),
)
def test_broken_files_are_refused_or_imported_never_crash(
    sqlite_database: Database,
    tmp_path: Path,
    seed: str,
    cuts: list[int],
    junk: bytes,
    kind: str,
    fmt: str,
    head: int,
) -> None:
    lines = (DATA / seed).read_bytes().splitlines(keepends=True)[: head + 1]
    path = tmp_path / "broken.csv"
    path.write_bytes(_mangle(b"".join(lines), cuts, junk))
    before = snapshot(sqlite_database)
    try:
        with sqlite_database.session() as session:
            import_file(session, kind, path, ImportOptions(format=fmt), "test")
    except ImportRefusedError:
        assert snapshot(sqlite_database) == before


@pytest.mark.parametrize(
    "content", [b"", b"\n\n", b"\x00\x01\x02", b"PK\x03\x04broken", b"\x1f\x8bxx"]
)
def test_empty_binary_and_damaged_files_are_refused(
    sqlite_database: Database, tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "bad.xlsx"
    path.write_bytes(content)
    with pytest.raises(ImportRefusedError), sqlite_database.session() as session:
        import_file(session, "orders", path, ImportOptions(), "test")
