"""Dashboard sessions: a random id in a signed, HttpOnly cookie; the store keeps the id's SHA-256, so
logging out (or a password change) ends a session on every collector, and a stolen table opens nothing.

The cookie is `<id>.<signature>`: the signature (HMAC-SHA256 under the store's shared secret) lets a
collector refuse a forged or garbled cookie without asking the store. The same secret derives each
session's CSRF token, and signs the short-lived cookies of password-protected share links."""

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

import msgspec

from collector.storage.rows import epoch_text
from collector.storage.sql import run
from collector.storage.store import Store

SESSION_DAYS: Final = 7
SESSION_MS: Final = SESSION_DAYS * 86_400_000
_SECRET_NAME: Final = "dashboard_cookies"  # noqa: S105 — the name of a secret, not one
_encoder: Final = msgspec.json.Encoder()


class Session(msgspec.Struct, frozen=True, kw_only=True):
    email: str
    id_sha256: str
    created_ms: int
    expires_ms: int


def shared_secret(store: Store, *, name: str = _SECRET_NAME) -> bytes:
    """The store's secret of this name, created on first use."""
    rows = run(store, "account_secret", {"name": name})
    if not rows:
        value = secrets.token_urlsafe(32)
        now = datetime.now(UTC).timestamp()
        row = {"name": name, "value": value, "created_at": f"{now:.3f}"}
        store.insert("secrets", _encoder.encode(row) + b"\n", settings={"insert_deduplicate": 0})
        rows = run(store, "account_secret", {"name": name})
    return str(rows[0]["value"]).encode()


class Signer:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def sign(self, value: str) -> str:
        return f"{value}.{self._mac(value)}"

    def unsign(self, token: str) -> str | None:
        value, _, mac = token.rpartition(".")
        if not value or not hmac.compare_digest(mac.encode(), self._mac(value).encode()):
            return None
        return value

    def derive(self, purpose: str, value: str) -> str:
        """A token for `purpose` bound to `value` (a session's CSRF token)."""
        return self._mac(f"{purpose}:{value}")

    def _mac(self, value: str) -> str:
        digest = hmac.new(self._key, value.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")


def _id_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class Sessions:
    def __init__(self, store: Store, signer: Signer, *, clock_ms: Callable[[], int]) -> None:
        self._store = store
        self._signer = signer
        self._clock = clock_ms

    def open(self, email: str) -> tuple[str, Session]:
        """A new session: the cookie's value, and the session."""
        session_id = secrets.token_urlsafe(24)
        now = self._clock()
        session = Session(email=email, id_sha256=_id_hash(session_id), created_ms=now, expires_ms=now + SESSION_MS)
        self._write(session, revoked=False)
        return self._signer.sign(session_id), session

    def find(self, cookie: str | None) -> Session | None:
        """The live session of a cookie: signed by us, not revoked, not expired, opened after the user's
        last password change, for a user who still exists."""
        session_id = self._signer.unsign(cookie or "")
        if session_id is None:
            return None
        rows = run(self._store, "account_session", {"id": _id_hash(session_id)})
        if not rows:
            return None
        row, now = rows[0], self._clock()
        if not (row["sessions_after_ms"] < row["created_ms"] <= now < row["expires_ms"]):
            return None
        return Session(
            email=row["email"],
            id_sha256=_id_hash(session_id),
            created_ms=row["created_ms"],
            expires_ms=row["expires_ms"],
        )

    def close(self, session: Session) -> None:
        self._write(session, revoked=True)

    def csrf_token(self, session: Session) -> str:
        return self._signer.derive("csrf", session.id_sha256)

    def _write(self, session: Session, *, revoked: bool) -> None:
        row = {
            "id_sha256": session.id_sha256,
            "email": session.email,
            "created_at": epoch_text(session.created_ms),
            "expires_at": epoch_text(session.expires_ms),
            "revoked": revoked,
            "updated_at": epoch_text(max(self._clock(), session.created_ms + int(revoked))),
        }
        self._store.insert("dashboard_sessions", _encoder.encode(row) + b"\n", settings={"insert_deduplicate": 0})
