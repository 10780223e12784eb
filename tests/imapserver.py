"""A real IMAP server on loopback (pymap, its in-memory backend, in a subprocess) for the
support-mailbox tests: one account; each test works in a folder of its own.

With ``tls=True`` the server offers STARTTLS with a self-signed certificate for 127.0.0.1 (and
refuses to log in before it); ``ssl_context`` is a client context that trusts it.
"""

from __future__ import annotations

import datetime as dt
import imaplib
import os
import re
import socket
import ssl
import subprocess
import sys
import time
import uuid
from pathlib import Path

from tests.mailserver import free_port

USER = "support@coffee.example"
PASSWORD = "s3cret-pass"
START_TIMEOUT_S = 30.0
# pymap hashes the password with 500,000 rounds of PBKDF2 (0.8 s a login here); a test server
# needs no such cost. FQDN names the server in its greeting without a DNS look-up.
LAUNCH = (
    "import pysasl.hashing as h; h.BuiltinHash.__init__.__kwdefaults__['rounds'] = 1000; "
    "from pymap.main import main; main()"
)


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A key and a certificate for 127.0.0.1, valid for a day."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_file, cert_file = folder / "imap.key", folder / "imap.crt"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return key_file, cert_file


class ImapServer:
    def __init__(self, folder: Path, *, tls: bool = False) -> None:
        self.folder, self.tls = folder, tls
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.ssl_context: ssl.SSLContext | None = None

    def __enter__(self) -> ImapServer:
        command = [sys.executable, "-c", LAUNCH, "--host", "127.0.0.1", "--port", str(self.port)]
        for service in ("admin", "managesieve", "swim"):  # only IMAP, on our port
            command += ["--no-service", service]
        if self.tls:
            key_file, cert_file = _self_signed(self.folder)
            command += ["--cert", str(cert_file), "--key", str(key_file)]
            self.ssl_context = ssl.create_default_context(cafile=str(cert_file))
        else:
            command.append("--no-tls")
        command += ["dict", "--demo-user", USER, "--demo-password", PASSWORD]
        self.log = (self.folder / f"pymap-{self.port}.log").open("wb")
        self.process = subprocess.Popen(
            command, stdout=self.log, stderr=subprocess.STDOUT,
            env={**os.environ, "FQDN": "imap.test"},
        )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    if sock.recv(64).startswith(b"* OK"):
                        return self
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"pymap did not start; see {self.log.name}")
            time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def settings(self, mailbox: str, **more: str) -> dict[str, str]:
        """Settings values (as for ``Settings(**…)``) that point at this server."""
        values = {
            "imap_host": "127.0.0.1",
            "imap_port": str(self.port),
            "imap_security": "starttls" if self.tls else "none",
            "imap_username": USER,
            "imap_password": PASSWORD,
            "imap_mailbox": mailbox,
            "mail_from": "Ada's Coffee <ada@coffee.example>",
        }
        return {**values, **more}

    def client(self) -> imaplib.IMAP4:
        connection = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        if self.tls:
            connection.starttls(ssl_context=self.ssl_context)
        connection.login(USER, PASSWORD)
        return connection

    def new_folder(self) -> str:
        name = f"test-{uuid.uuid4().hex[:8]}"
        connection = self.client()
        try:
            assert connection.create(name)[0] == "OK"
        finally:
            connection.logout()
        return name

    def deliver(self, folder: str, raw: bytes, *, arrived_at: dt.datetime | None = None) -> int:
        """Put a message into ``folder`` (IMAP APPEND, unread); its UID."""
        connection = self.client()
        try:
            when = arrived_at or dt.datetime.now(dt.UTC)
            status, data = connection.append(f'"{folder}"', None, when, raw)
        finally:
            connection.logout()
        assert status == "OK", data
        found = re.search(rb"APPENDUID \d+ (\d+)", data[0] or b"")
        assert found, data
        return int(found[1])

    def search(self, folder: str, criteria: str = "ALL") -> list[int]:
        connection = self.client()
        try:
            connection.select(f'"{folder}"')
            _, data = connection.uid("SEARCH", None, criteria)  # type: ignore[arg-type]
        finally:
            connection.logout()
        return [int(n) for n in (data[0] or b"").split()]

    def mark_read(self, folder: str, uid: int) -> None:
        """What a mail client does when the owner opens the message."""
        connection = self.client()
        try:
            connection.select(f'"{folder}"')
            connection.uid("STORE", str(uid), "+FLAGS", r"(\Seen)")
        finally:
            connection.logout()
