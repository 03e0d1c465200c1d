"""Users, sessions, share links and the login brake, on a real embedded store."""

import pytest
from support import NOW_MS

from collector.accounts.passwords import hash_password, verify
from collector.accounts.sessions import SESSION_MS, Sessions, Signer, shared_secret
from collector.accounts.shares import Shares
from collector.accounts.throttle import PER_ACCOUNT, WINDOW_MS, LoginThrottle
from collector.accounts.users import Grant, Users
from collector.errors import AccountError, AccountNotFound
from collector.storage.store_chdb import ChdbStore


class Clock:
    def __init__(self) -> None:
        self.ms = NOW_MS

    def __call__(self) -> int:
        return self.ms


@pytest.fixture(scope="module")
def hashed() -> str:
    return hash_password("correct horse battery")


def test_passwords_are_argon2id_hashes_that_verify_only_the_password(hashed: str) -> None:
    assert hashed.startswith("$argon2id$")
    assert verify(hashed, "correct horse battery")
    assert not verify(hashed, "correct horse batterY")
    assert not verify(None, "correct horse battery")  # no such user: no, in the same time
    assert not verify("not a hash", "x")
    with pytest.raises(AccountError, match="at least 10"):
        hash_password("short")


def test_users_get_sites_lose_them_and_go(store: ChdbStore, hashed: str) -> None:
    clock = Clock()
    users = Users(store, clock_ms=clock)
    assert not users.exists()
    with pytest.raises(AccountError, match="give them a password"):
        users.add("new@shop.example", password_hash=None, site_id=1)
    users.add("Owner@Shop.example ", password_hash=hashed, site_id=1, role="admin")
    user = users.add("owner@shop.example", password_hash=None, site_id=2, role="viewer")
    assert user.grants == (Grant(1, "admin"), Grant(2, "viewer"))
    assert user.role_for(2) == "viewer"
    assert user.role_for(3) is None
    with pytest.raises(AccountError, match="exists already"):
        users.add("owner@shop.example", password_hash=hashed, site_id=1)
    with pytest.raises(AccountError, match="role"):
        users.add("owner@shop.example", password_hash=None, site_id=1, role="owner")
    with pytest.raises(AccountError, match="not an e-mail"):
        users.add("owner", password_hash=hashed, site_id=1)
    clock.ms += 1
    users.remove("owner@shop.example", site_id=2)
    found = users.get("OWNER@shop.example")
    assert found is not None
    assert found.grants == (Grant(1, "admin"),)
    clock.ms += 1
    users.remove("owner@shop.example")
    assert users.get("owner@shop.example") is None
    assert users.all() == []
    with pytest.raises(AccountNotFound):
        users.set_password("owner@shop.example", hashed)


def test_a_session_ends_at_logout_expiry_or_a_new_password(store: ChdbStore, hashed: str) -> None:
    clock = Clock()
    users = Users(store, clock_ms=clock)
    users.add("a@shop.example", password_hash=hashed, site_id=1)
    secret = shared_secret(store)
    assert shared_secret(store) == secret  # created once, then read
    sessions = Sessions(store, Signer(secret), clock_ms=clock)

    cookie, session = sessions.open("a@shop.example")
    assert sessions.find(cookie) == session
    assert sessions.find(cookie[:-1] + ("A" if cookie[-1] != "A" else "B")) is None  # a forged signature
    assert sessions.find(None) is None
    assert sessions.find("") is None
    other = Sessions(store, Signer(b"another key"), clock_ms=clock)
    assert other.find(cookie) is None  # signed under another secret
    assert sessions.csrf_token(session) != other.csrf_token(session)
    clock.ms += 1
    sessions.close(session)
    assert sessions.find(cookie) is None

    cookie, _ = sessions.open("a@shop.example")
    clock.ms += SESSION_MS - 1
    assert sessions.find(cookie) is not None
    clock.ms += 1
    assert sessions.find(cookie) is None  # expired

    cookie, _ = sessions.open("a@shop.example")
    clock.ms += 1
    users.set_password("a@shop.example", hashed)
    assert sessions.find(cookie) is None  # a new password ends the sessions opened before it
    cookie, _ = sessions.open("a@shop.example")
    clock.ms += 1
    users.remove("a@shop.example")
    assert sessions.find(cookie) is None


def test_share_links_show_chosen_pages_until_revoked(store: ChdbStore) -> None:
    clock = Clock()
    shares = Shares(store, clock_ms=clock)
    share = shares.create(1, reports=["retention", "overview"], label="Board", password_hash="", created_by="a@x.org")
    assert share.reports == ("overview", "retention")
    assert len(share.slug) >= 24
    assert shares.find(share.slug) == share
    assert shares.for_site(1) == [share]
    assert shares.for_site(2) == []
    with pytest.raises(AccountError, match="shows some of"):
        shares.create(1, reports=["people"], label="", password_hash="", created_by="a@x.org")
    with pytest.raises(AccountNotFound):
        shares.revoke(2, share.slug)  # not this site's
    clock.ms += 1
    shares.revoke(1, share.slug)
    assert shares.find(share.slug) is None
    assert shares.for_site(1) == []


def test_the_login_brake_holds_per_account_and_per_address() -> None:
    clock = Clock()
    brake = LoginThrottle(clock)
    for _ in range(PER_ACCOUNT):
        assert brake.retry_after_s("a@x.org", "10.0.0.1") == 0
        brake.failed("a@x.org", "10.0.0.1")
    assert brake.retry_after_s("a@x.org", "10.0.0.2") == WINDOW_MS // 1000  # another address: still braked
    assert brake.retry_after_s("b@x.org", "10.0.0.1") == 0
    clock.ms += WINDOW_MS
    assert brake.retry_after_s("a@x.org", "10.0.0.1") == 0  # the failures have aged out
    for n in range(20):
        brake.failed(f"u{n}@x.org", "10.0.0.9")
    assert brake.retry_after_s("fresh@x.org", "10.0.0.9") > 0  # one address guessing many accounts
    brake.failed("c@x.org", "10.0.0.3")
    brake.succeeded("c@x.org")
    assert brake.retry_after_s("c@x.org", "10.0.0.3") == 0
