"""A large orders import holds a bounded number of copies of its file in memory."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

RETAIL = Path(__file__).parents[1] / "data" / "online-retail"
MIB = 1024**2

# A small launcher runs the command and reports the peak resident set size of its child
# (RUSAGE_CHILDREN). The peak is not read in the test process, whose RUSAGE_CHILDREN is the
# largest of every child it ever ran, nor in a process forked from it: a process's ru_maxrss
# counts the pages it shared with its parent between fork and exec, and the test process may
# be large by the time this test runs.
_LAUNCH = """
import resource, subprocess, sys
done = subprocess.run([sys.executable, "-c", "from soloist.cli.main import main; main()",
                       *sys.argv[1:]])
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)
sys.exit(done.returncode)
"""


def _retail_file(path: Path, rows: int) -> int:
    """The first ``rows`` lines of the UCI Online Retail months, one header; its size."""
    lines: list[str] = []
    for part in sorted(RETAIL.glob("*.csv.gz")):
        with gzip.open(part, "rt", encoding="utf-8", newline="") as handle:
            header, *body = handle.read().splitlines(keepends=True)
        lines.extend(body)
        if len(lines) >= rows:
            break
    path.write_text(header + "".join(lines[:rows]), encoding="utf-8", newline="")
    return path.stat().st_size


def _soloist(workspace: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], int]:
    """Run ``soloist ARGS --workspace WORKSPACE``: the finished process and its peak RSS in
    bytes."""
    # As a user's shell runs it: without the settings, nor the allocator settings that Polars
    # (``_RJEM_MALLOC_CONF``) and OpenMP (``KMP_``) leave in the environment of the process that
    # imported them.
    prefixes = ("SOLOIST_", "POLARS_", "_RJEM_", "KMP_")
    environment = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    done = subprocess.run(
        [sys.executable, "-c", _LAUNCH, *args, "--workspace", str(workspace)],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
        timeout=600,
    )
    peak = int(done.stderr.strip().splitlines()[-1]) * 1024  # ru_maxrss is in KiB on Linux
    return done, peak


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is in KiB on Linux only")
def test_a_large_retail_import_peaks_at_a_few_copies_of_its_file(tmp_path: Path) -> None:
    source = tmp_path / "retail.csv"
    size = _retail_file(source, 300_000)
    workspace = tmp_path / "ws"
    init, _ = _soloist(workspace, "init", "--currency", "GBP")
    assert init.returncode == 0, init.stderr
    done, peak_bytes = _soloist(workspace, "import", "orders", str(source), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["rows_read"] == 300_000
    # The interpreter with Polars and SQLAlchemy loaded takes about 150 MiB. The file is then
    # held as its text while Polars reads it, as a frame of text cells, as the records' stripped
    # mapped cells, and as the typed columns and lines made of them. Measured on this file
    # (25 MiB): 510 MiB at the peak, about 14 times the file over the interpreter; the import
    # that kept a stripped copy of the whole file and every record's forty typed columns until
    # the end took 603 MiB (18 times). 10 times the file plus 320 MiB (573 MiB here) sits
    # between the two, so a return to holding those copies fails.
    bound = 10 * size + 320 * MIB
    assert peak_bytes < bound, f"peak {peak_bytes / MIB:.0f} MiB for a {size / MIB:.0f} MiB file"
