"""The overview pages' figures, kept across a restart of ``soloist serve``.

The loyalty, journeys, campaigns and reports pages and the dashboard show figures that take
seconds (at 100,000 customers, half a minute for the reports) to work out. They are cached in
memory (:mod:`soloist.storage.caches`), and a restart used to lose them: the first views after
it waited for the whole computation. ``soloist serve`` now writes the kept caches' latest values
to ``kept-figures.bin`` in the workspace while it runs and when it stops, and reads them back at
start: a page then shows them at once, marked as being updated when the data has changed since,
while the new ones are worked out in the background.

The file is a pickle sealed with the workspace's key (AES-256-GCM, as the encrypted columns
are): the figures name customers, and only a file this workspace wrote is ever unpickled. It is
read only when it was written for the same database by the same code (a fingerprint of the
package's files), so that a value is never read into a class whose fields have changed since.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import pickle
import threading
from pathlib import Path
from typing import Any

import soloist
from soloist.errors import EncryptionError
from soloist.storage.caches import kept_caches
from soloist.storage.crypto import Keyring

log = logging.getLogger(__name__)

KEPT_FILE = "kept-figures.bin"
_PURPOSE = "kept figures"
SAVE_EVERY_SECONDS = 60.0


@functools.cache
def code_fingerprint() -> str:
    """A digest of the names, sizes and modification times of the package's Python files,
    taken once per process: a server that runs on while its package is upgraded keeps writing
    the fingerprint of the code it runs, so the new code does not read its figures."""
    root = Path(soloist.__file__).parent
    digest = hashlib.sha256(soloist.__version__.encode())
    for path in sorted(root.rglob("*.py")):
        stat = path.stat()
        digest.update(f"{path.relative_to(root)}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def save_kept_figures(path: Path, keyring: Keyring, identity: str) -> int:
    """Write the kept caches' latest values to ``path`` (atomically, readable by its owner
    only) and return how many values were written. ``identity`` names the database."""
    caches = {name: cache.snapshot() for name, cache in kept_caches().items()}
    payload = {"identity": identity, "code": code_fingerprint(), "caches": caches}
    sealed = keyring.encrypt_bytes(pickle.dumps(payload, pickle.HIGHEST_PROTOCOL), _PURPOSE)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(sealed)
    os.replace(partial, path)
    return sum(len(entries) for entries in caches.values())


def load_kept_figures(path: Path, keyring: Keyring, identity: str) -> int:
    """Put the values ``path`` holds back into the kept caches of this process and return how
    many; 0 when there is no file, or it was written for another database or other code, or
    cannot be read (then it is left alone: the next save replaces it)."""
    try:
        sealed = path.read_bytes()
    except FileNotFoundError:
        return 0
    except OSError as exc:
        log.warning("cannot read the kept figures %s: %s", path, exc)
        return 0
    try:
        payload: dict[str, Any] = pickle.loads(keyring.decrypt_bytes(sealed, _PURPOSE))
    except (EncryptionError, pickle.UnpicklingError, AttributeError, ImportError, EOFError):
        log.warning("the kept figures %s cannot be read; they will be worked out again", path)
        return 0
    if payload.get("identity") != identity or payload.get("code") != code_fingerprint():
        return 0
    restored = 0
    caches = kept_caches()
    for name, entries in payload.get("caches", {}).items():
        cache = caches.get(name)
        if cache is not None:
            cache.restore(entries)
            restored += len(entries)
    return restored


def forget_kept_figures(path: Path) -> None:
    """Delete the kept figures, on disk and in this process's caches: after the database was
    restored, and after a person's data were erased (the figures may name them)."""
    for cache in kept_caches().values():
        cache.clear()
    path.unlink(missing_ok=True)


class KeptFiguresSaver:
    """Saves the kept figures every ``every`` seconds while any of them changed, and once more
    on :meth:`stop`, on a daemon thread of its own."""

    def __init__(
        self, path: Path, keyring: Keyring, identity: str, every: float = SAVE_EVERY_SECONDS
    ) -> None:
        self.path, self.keyring, self.identity, self.every = path, keyring, identity, every
        self._stopped = threading.Event()
        self._saved_at = self._changes()
        self._thread = threading.Thread(target=self._run, name="soloist-kept-figures", daemon=True)

    def start(self) -> KeptFiguresSaver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=10)
        self.save_if_changed()

    def save_if_changed(self) -> bool:
        changes = self._changes()
        if changes == self._saved_at:
            return False
        try:
            save_kept_figures(self.path, self.keyring, self.identity)
        except Exception:  # a full disk must not stop the server; the figures stay in memory
            log.exception("saving the kept figures to %s failed", self.path)
            return False
        self._saved_at = changes
        return True

    def _run(self) -> None:
        while not self._stopped.wait(self.every):
            self.save_if_changed()

    @staticmethod
    def _changes() -> tuple[tuple[str, int], ...]:
        return tuple(sorted((name, cache.stored) for name, cache in kept_caches().items()))
