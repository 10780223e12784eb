from __future__ import annotations

import pytest
from sqlalchemy import text

from soloist.domain.customers.records import CustomerCreate, create_customer
from soloist.errors import ConfigurationError, EncryptionError
from soloist.storage.crypto import Keyring, generate_master_key
from soloist.storage.database import Database


def test_encrypt_then_decrypt_gives_the_text_back() -> None:
    keyring = Keyring.from_master_key(generate_master_key())
    blob = keyring.encrypt("李雷 <li@example.com>", "customers.email")
    assert b"example" not in blob
    assert keyring.decrypt(blob, "customers.email") == "李雷 <li@example.com>"


def test_the_same_text_encrypts_differently_each_time() -> None:
    keyring = Keyring.from_master_key(generate_master_key())
    assert keyring.encrypt("a@b.co", "p") != keyring.encrypt("a@b.co", "p")


def test_decrypt_with_another_key_fails_clearly() -> None:
    blob = Keyring.from_master_key(generate_master_key()).encrypt("secret", "customers.notes")
    other = Keyring.from_master_key(generate_master_key())
    with pytest.raises(EncryptionError, match="wrong master key"):
        other.decrypt(blob, "customers.notes")


def test_ciphertext_moved_to_another_column_does_not_decrypt() -> None:
    keyring = Keyring.from_master_key(generate_master_key())
    blob = keyring.encrypt("+441234", "customers.phone")
    with pytest.raises(EncryptionError):
        keyring.decrypt(blob, "customers.email")


def test_lookup_hash_is_keyed_and_stable() -> None:
    key = generate_master_key()
    one, two = Keyring.from_master_key(key), Keyring.from_master_key(key)
    assert one.lookup_hash("a@b.co", "email") == two.lookup_hash("a@b.co", "email")
    other = Keyring.from_master_key(generate_master_key())
    assert one.lookup_hash("a@b.co", "email") != other.lookup_hash("a@b.co", "email")
    assert one.lookup_hash("a@b.co", "email") != one.lookup_hash("a@b.co", "phone")


@pytest.mark.parametrize("bad", ["not base64!!", "c2hvcnQ="])
def test_a_malformed_master_key_is_refused(bad: str) -> None:
    with pytest.raises(ConfigurationError):
        Keyring.from_master_key(bad)


def test_personal_data_is_unreadable_in_the_raw_database(database: Database) -> None:
    with database.session() as session:
        customer = create_customer(
            session,
            CustomerCreate(
                name="Ada Lovelace",
                email="ada@example.com",
                phone="+44 20 7946 0018",
                address="12 Analytical Row, London",
                notes="likes engines",
            ),
            "test",
        )
        customer_id = customer.id
    with database.engine.connect() as connection:
        row = connection.execute(
            text("SELECT email, phone, address, notes, email_hash FROM customers WHERE id = :id"),
            {"id": customer_id},
        ).one()
    for raw, plain in zip(
        row[:4], ["ada@example.com", "+442079460018", "Analytical", "engines"], strict=True
    ):
        assert plain.encode() not in bytes(raw)
    # A keyed hash, not the address: 64 hex digits (which may spell "ada" by chance).
    assert len(row.email_hash) == 64
    assert set(row.email_hash) <= set("0123456789abcdef")
    assert "@" not in row.email_hash
    with database.session() as session:
        from soloist.storage.models import Customer

        loaded = session.get(Customer, customer_id)
        assert loaded is not None
        assert loaded.email == "ada@example.com"
        assert loaded.address == "12 Analytical Row, London"


def test_many_texts_encrypt_each_with_its_own_nonce() -> None:
    keyring = Keyring.from_master_key(generate_master_key())
    sealed = keyring.encrypt_many(["a@b.co", None, "a@b.co", "李雷"], "customers.email")
    assert sealed[1] is None
    blobs = [blob for blob in sealed if blob is not None]
    assert len({blob[1:13] for blob in blobs}) == 3  # three different nonces
    assert [keyring.decrypt(blob, "customers.email") for blob in blobs] == ["a@b.co"] * 2 + ["李雷"]
    with pytest.raises(EncryptionError):
        keyring.decrypt(blobs[0], "customers.phone")
