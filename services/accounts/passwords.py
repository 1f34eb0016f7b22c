"""Password hashing (argon2id) and the minimum strength rule."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .domain.errors import WeakPassword

MIN_LENGTH = 12
MAX_LENGTH = 128  # argon2 would take more; this bounds the work an attacker can ask for
_hasher = PasswordHasher()  # argon2-cffi's defaults: argon2id, RFC 9106 low-memory profile
# Verifying against this when the email is unknown keeps both answers equally slow.
_DUMMY_HASH = _hasher.hash("finova-dummy-password-for-timing")


def check_strength(password: str, email: str = "") -> None:
    """Raise WeakPassword naming the first rule the password breaks."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword("min_length", f"at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword("max_length", f"at most {MAX_LENGTH} characters")
    classes = sum([any(c.islower() for c in password), any(c.isupper() for c in password),
                   any(c.isdigit() for c in password), any(not c.isalnum() for c in password)])
    if classes < 3:
        raise WeakPassword("character_classes",
                           "at least three of: lower case, upper case, digits, symbols")
    local_part = email.split("@")[0].lower()
    if len(local_part) >= 4 and local_part in password.lower():
        raise WeakPassword("contains_email", "must not contain the email address")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
