"""Dashboard users and the sites each one sees, in the store (clickhouse/migrations/0013_accounts.sql)."""

import re
from collections.abc import Callable
from typing import Final, Literal

import msgspec

from collector.errors import AccountError, AccountNotFound
from collector.storage.rows import epoch_text
from collector.storage.sql import run
from collector.storage.store import Store

Role = Literal["viewer", "admin"]
ROLES: Final = ("viewer", "admin")
_EMAIL: Final = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")
_encoder: Final = msgspec.json.Encoder()


class Grant(msgspec.Struct, frozen=True):
    site_id: int
    role: str


class User(msgspec.Struct, frozen=True, kw_only=True):
    email: str
    password_hash: str
    sessions_after_ms: int  # sessions opened at or before this are over (the password changed)
    grants: tuple[Grant, ...] = ()

    def role_for(self, site_id: int) -> str | None:
        return next((g.role for g in self.grants if g.site_id == site_id), None)


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise AccountError(f"{email[:80]!r} is not an e-mail address")
    return email


def check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(f"a role is one of {', '.join(ROLES)}, got {role!r}")
    return role


class Users:
    def __init__(self, store: Store, *, clock_ms: Callable[[], int]) -> None:
        self._store = store
        self._clock = clock_ms

    def get(self, email: str) -> User | None:
        rows = run(self._store, "account_user", {"email": email.strip().lower()}, one=True)
        return _user(rows[0]) if rows else None

    def all(self) -> list[User]:
        return [_user(r) for r in run(self._store, "account_user", {}, one=False)]

    def exists(self) -> bool:
        return bool(self._store.query(f"SELECT 1 FROM {self._store.database}.users FINAL WHERE NOT deleted LIMIT 1"))

    def add(self, email: str, *, password_hash: str | None, site_id: int | None, role: str = "viewer") -> User:
        """A new user (which needs a password), or one more site for an existing one."""
        email = normalise_email(email)
        check_role(role)
        user = self.get(email)
        if user is None:
            if password_hash is None:
                raise AccountError(f"{email} is a new user: give them a password")
            now = self._clock()
            self._write_user(email, password_hash, sessions_after_ms=now - 1, created_ms=now)
        elif password_hash is not None:
            raise AccountError(f"{email} exists already; change the password with `footfall user passwd`")
        if site_id is not None:
            self._write_grant(email, site_id, role, deleted=False)
        found = self.get(email)
        assert found is not None
        return found

    def set_password(self, email: str, password_hash: str) -> None:
        user = self._existing(email)
        now = self._clock()
        self._write_user(user.email, password_hash, sessions_after_ms=now, created_ms=None)

    def remove(self, email: str, *, site_id: int | None = None) -> None:
        """The user (every session ends), or only their access to one site."""
        user = self._existing(email)
        if site_id is not None:
            if user.role_for(site_id) is None:
                raise AccountError(f"{user.email} has no access to that site")
            self._write_grant(user.email, site_id, "viewer", deleted=True)
            return
        for grant in user.grants:
            self._write_grant(user.email, grant.site_id, grant.role, deleted=True)
        now = self._clock()
        self._write_user(user.email, user.password_hash, sessions_after_ms=now, created_ms=None, deleted=True)

    def _existing(self, email: str) -> User:
        user = self.get(email)
        if user is None:
            raise AccountNotFound(f"no user {email.strip().lower()!r}; `footfall user list` shows them")
        return user

    def _write_user(
        self, email: str, password_hash: str, *, sessions_after_ms: int, created_ms: int | None, deleted: bool = False
    ) -> None:
        now = self._clock()
        created = created_ms if created_ms is not None else now
        row = {
            "email": email,
            "password_hash": password_hash,
            "sessions_after": epoch_text(sessions_after_ms),
            "deleted": deleted,
            "created_at": epoch_text(created),
            "updated_at": epoch_text(now),
        }
        self._store.insert("users", _encoder.encode(row) + b"\n", settings={"insert_deduplicate": 0})

    def _write_grant(self, email: str, site_id: int, role: str, *, deleted: bool) -> None:
        row = {
            "email": email,
            "site_id": site_id,
            "role": role,
            "deleted": deleted,
            "updated_at": epoch_text(self._clock()),
        }
        self._store.insert("user_sites", _encoder.encode(row) + b"\n", settings={"insert_deduplicate": 0})


def _user(row: dict[str, object]) -> User:
    grants = tuple(Grant(int(site), str(role)) for site, role in row["grants"])  # type: ignore[attr-defined]
    return User(
        email=str(row["email"]),
        password_hash=str(row["password_hash"]),
        sessions_after_ms=int(row["sessions_after_ms"]),  # type: ignore[call-overload]
        grants=tuple(sorted(grants, key=lambda g: g.site_id)),
    )
