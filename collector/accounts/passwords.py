"""Passwords, kept only as argon2id hashes (argon2-cffi: the reference implementation, RFC 9106 parameters)."""

from typing import Final

import argon2

from collector.errors import AccountError

MIN_LENGTH: Final = 10
MAX_LENGTH: Final = 1024  # hashing a megabyte on every login attempt would be a cheap way to load us

_hasher: Final = argon2.PasswordHasher()  # t=3, m=64 MiB, p=4: about 60 ms here
# Checked against when the e-mail is unknown, so a wrong address takes as long as a wrong password.
_UNKNOWN: Final = _hasher.hash("footfall: no such user")


def check_new(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise AccountError(f"a password needs at least {MIN_LENGTH} characters (got {len(password)})")
    if len(password) > MAX_LENGTH:
        raise AccountError(f"a password has at most {MAX_LENGTH} characters")


def hash_password(password: str) -> str:
    check_new(password)
    return _hasher.hash(password)


def verify(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches; None (no such user) spends the same time and says no."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher.verify(password_hash or _UNKNOWN, password) and password_hash is not None
    except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
        return False
