"""Column-level encryption of personal data (phone, national id) with rotatable keys.

PII_ENCRYPTION_KEYS is "v2:<fernet key>,v1:<fernet key>": the first key encrypts, all of
them decrypt. A stored value is "<key id>:<Fernet token>", so rows still under an old key
can be found and re-encrypted (`python -m services.accounts.cli rotate-pii-keys`) before
the old key is removed. Make a key with
`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`.
"""
from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


def parse_keys(raw: str) -> list[tuple[str, str]]:
    """Validate the setting at start: ids unique, every key a valid Fernet key."""
    if not raw.strip():
        return []
    keys: list[tuple[str, str]] = []
    for item in raw.split(","):
        key_id, sep, key = item.strip().partition(":")
        if not sep or not key_id or not key_id.isalnum():
            raise ValueError("expected 'keyid:fernetkey' pairs separated by commas")
        Fernet(key.encode())  # raises ValueError for a malformed key
        keys.append((key_id, key))
    if len({key_id for key_id, _ in keys}) != len(keys):
        raise ValueError("key ids must be unique")
    return keys


class FieldCipher:
    def __init__(self, keys: list[tuple[str, str]]):
        if not keys:
            raise RuntimeError("PII_ENCRYPTION_KEYS is not set: personal data cannot be stored")
        self.current_id = keys[0][0]
        self._by_id = {key_id: Fernet(key.encode()) for key_id, key in keys}
        self._current = self._by_id[self.current_id]

    def encrypt(self, plaintext: str | None) -> str | None:
        if plaintext is None:
            return None
        return f"{self.current_id}:{self._current.encrypt(plaintext.encode()).decode()}"

    def decrypt(self, stored: str | None) -> str | None:
        if stored is None:
            return None
        key_id, _, token = stored.partition(":")
        fernet = self._by_id.get(key_id)
        if fernet is None:
            raise InvalidToken(f"no key {key_id!r} in PII_ENCRYPTION_KEYS")
        return fernet.decrypt(token.encode()).decode()

    def needs_rotation(self, stored: str | None) -> bool:
        return stored is not None and not stored.startswith(self.current_id + ":")

    def rotate(self, stored: str | None) -> str | None:
        """Re-encrypt a value under the current key."""
        return self.encrypt(self.decrypt(stored))


def rotating_fernet(keys: list[tuple[str, str]]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for _, key in keys])
