"""Personal data encryption: the cipher, and re-encryption under a new key."""
import pytest
from cryptography.fernet import InvalidToken
from sqlalchemy import text

from services.accounts.cli import main as cli
from services.accounts.pii import FieldCipher, parse_keys

from .conftest import NEW_PII_KEY, TEST_PII_KEYS
from .factories import customer_headers, register


def test_the_first_key_encrypts_and_every_key_decrypts():
    old = FieldCipher(parse_keys(TEST_PII_KEYS))
    stored = old.encrypt("+441632960961")
    both = FieldCipher(parse_keys(f"{NEW_PII_KEY},{TEST_PII_KEYS}"))
    assert both.decrypt(stored) == "+441632960961" and both.needs_rotation(stored)
    rotated = both.rotate(stored)
    assert rotated.startswith("t2:") and not both.needs_rotation(rotated)
    with pytest.raises(InvalidToken):
        old.decrypt(rotated)


@pytest.mark.parametrize("raw", ["nokey", "k1:short", "k1:" + "A" * 44 + ",k1:" + "A" * 44, "k-1:" + "A" * 44])
def test_malformed_key_settings_are_refused(raw):
    with pytest.raises(ValueError):
        parse_keys(raw)


def test_rotation_re_encrypts_every_customer_under_the_new_key(client, accounts_db, ledger, owner_engines,
                                                                monkeypatch):
    from .conftest import make_accounts_app
    customer = register(client, phone="+441632960961", national_id="AB123456C")
    register(client)  # no personal data to rotate
    monkeypatch.setenv("DATABASE_URL", accounts_db.app_url)
    monkeypatch.setenv("PII_ENCRYPTION_KEYS", f"{NEW_PII_KEY},{TEST_PII_KEYS}")
    assert cli(["rotate-pii-keys"]) == 0
    with owner_engines["accounts"].connect() as connection:
        rows = connection.execute(text("SELECT phone_encrypted, national_id_encrypted FROM customers "
                                       "WHERE phone_encrypted IS NOT NULL")).all()
    assert [(r.phone_encrypted[:3], r.national_id_encrypted[:3]) for r in rows] == [("t2:", "t2:")]
    # The old key can now be dropped.
    new_only = make_accounts_app(accounts_db, ledger.url, PII_ENCRYPTION_KEYS=NEW_PII_KEY).test_client()
    me = new_only.get("/api/v1/me", headers=customer_headers(customer["id"])).get_json()
    assert me["phone"] == "+441632960961"
