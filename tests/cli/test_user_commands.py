"""`footfall user ...` on the embedded store (through a running server: tests/dashboard/test_access.py)."""

import io
import json
from pathlib import Path

import pytest

from collector.accounts.passwords import verify
from collector.accounts.users import Users
from collector.cli import main
from collector.storage.store_chdb import ChdbStore


def run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: str, stdin: str = ""
) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_users_are_added_listed_given_passwords_and_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = str(tmp_path / "data")
    assert run(monkeypatch, capsys, "site", "add", "shop", "--data", data)[0] == 0
    code, out, err = run(monkeypatch, capsys, "user", "add", "Ann@shop.example", "--site", "shop", "--data", data)
    assert code == 1
    assert "--password-stdin" in err
    code, out, _ = run(
        monkeypatch,
        capsys,
        "user",
        "add",
        "ann@shop.example",
        "--site",
        "shop",
        "--role",
        "admin",
        "--password-stdin",
        "--data",
        data,
        stdin="correct horse battery\n",
    )
    assert code == 0
    assert "shop (admin)" in out
    assert "/dashboard/" in out
    code, _, err = run(
        monkeypatch, capsys, "user", "add", "bob@shop.example", "--password-stdin", "--data", data, stdin="short\n"
    )
    assert code == 1
    assert "at least 10" in err
    code, _, err = run(monkeypatch, capsys, "user", "add", "ann@shop.example", "--site", "nosuch", "--data", data)
    assert code == 1
    assert "no site named 'nosuch'" in err
    code, out, _ = run(monkeypatch, capsys, "user", "list", "--json", "--data", data)
    assert json.loads(out) == [{"email": "ann@shop.example", "sites": {"shop": "admin"}}]
    code, out, _ = run(
        monkeypatch,
        capsys,
        "user",
        "passwd",
        "ann@shop.example",
        "--password-stdin",
        "--data",
        data,
        stdin="another good one\n",
    )
    assert code == 0
    assert "sessions ended" in out
    store = ChdbStore(Path(data), database="footfall")
    try:
        user = Users(store, clock_ms=lambda: 0).get("ann@shop.example")
        assert user is not None
        assert verify(user.password_hash, "another good one")
    finally:
        store.close()
    assert run(monkeypatch, capsys, "user", "remove", "ann@shop.example", "--data", data)[0] == 0
    code, out, _ = run(monkeypatch, capsys, "user", "list", "--data", data)
    assert "no users yet" in out
    code, _, err = run(monkeypatch, capsys, "user", "remove", "ann@shop.example", "--data", data)
    assert code == 1
    assert "no user" in err
