"""`footfall user add / list / remove / passwd`: who may log in to the dashboard, and which sites they see.

Passwords are hashed here, in the command, so that only the hash reaches the store or the running server."""

import argparse
import contextlib
import getpass
import json
import sys
import time
from typing import Any, Protocol

from collector.accounts.passwords import hash_password
from collector.accounts.users import ROLES, Users
from collector.cli.site_commands import RemoteServer, acting_on
from collector.errors import AccountError, SiteNotFound
from collector.server.admin import user_view
from collector.settings import Settings
from collector.storage.site_registry import Sites
from collector.storage.store import Store


class UserCommands(Protocol):
    def listing(self) -> list[dict[str, Any]]: ...
    def add(self, email: str, site: str | None, role: str, password_hash: str | None) -> dict[str, Any]: ...
    def remove(self, email: str, site: str | None) -> None: ...
    def passwd(self, email: str, password_hash: str) -> None: ...
    def exists(self, email: str) -> bool: ...


class LocalUsers:
    def __init__(self, store: Store) -> None:
        self.sites = Sites(store)
        self.sites.load()
        self.users = Users(store, clock_ms=lambda: time.time_ns() // 1_000_000)

    def listing(self) -> list[dict[str, Any]]:
        return [user_view(u, self.sites) for u in self.users.all()]

    def add(self, email: str, site: str | None, role: str, password_hash: str | None) -> dict[str, Any]:
        user = self.users.add(email, password_hash=password_hash, site_id=self._site_id(site), role=role)
        return user_view(user, self.sites)

    def remove(self, email: str, site: str | None) -> None:
        self.users.remove(email, site_id=self._site_id(site))

    def passwd(self, email: str, password_hash: str) -> None:
        self.users.set_password(email, password_hash)

    def exists(self, email: str) -> bool:
        return self.users.get(email) is not None

    def _site_id(self, name: str | None) -> int | None:
        if name is None:
            return None
        site = self.sites.by_name(name)
        if site is None:
            raise SiteNotFound(f"no site named {name!r}; `footfall site list` shows them")
        return site.site_id


class RemoteUsers(RemoteServer):
    def listing(self) -> list[dict[str, Any]]:
        listed: list[dict[str, Any]] = self._call("GET", "/admin/v1/users")
        return listed

    def add(self, email: str, site: str | None, role: str, password_hash: str | None) -> dict[str, Any]:
        body = {"email": email, "site": site, "role": role, "password_hash": password_hash}
        user: dict[str, Any] = self._call("POST", "/admin/v1/users", body)
        return user

    def remove(self, email: str, site: str | None) -> None:
        self._call("POST", f"/admin/v1/users/{email}/remove", {"site": site})

    def passwd(self, email: str, password_hash: str) -> None:
        self._call("POST", f"/admin/v1/users/{email}/password", {"password_hash": password_hash})

    def exists(self, email: str) -> bool:
        return any(u["email"] == email.strip().lower() for u in self.listing())


def users_for(settings: Settings) -> contextlib.AbstractContextManager[UserCommands]:
    return acting_on(settings, LocalUsers, RemoteUsers)


def _password(args: argparse.Namespace) -> str:
    """From stdin with --password-stdin (scripts), else typed twice at the terminal."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise AccountError("type the password at a terminal, or pipe it in with --password-stdin")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise AccountError("the two passwords differ")
    return first


def cmd_user_add(args: argparse.Namespace, settings: Settings) -> int:
    with users_for(settings) as users:
        hashed = None if users.exists(args.email) else hash_password(_password(args))
        user = users.add(args.email, args.site, args.role, hashed)
    if args.json:
        print(json.dumps(user))
    else:
        sites = ", ".join(f"{name} ({role})" for name, role in user["sites"].items()) or "no site yet"
        print(f"user {user['email']} sees: {sites}; log in at {settings.base_url}/dashboard/")
    return 0


def cmd_user_list(args: argparse.Namespace, settings: Settings) -> int:
    with users_for(settings) as users:
        listed = users.listing()
    if args.json:
        print(json.dumps(listed, indent=2))
    elif not listed:
        print("no users yet: add one with `footfall user add YOU@EXAMPLE --site NAME --role admin`")
    for user in [] if args.json else listed:
        print(f"{user['email']}  " + (", ".join(f"{n} ({r})" for n, r in user["sites"].items()) or "(no site)"))
    return 0


def cmd_user_remove(args: argparse.Namespace, settings: Settings) -> int:
    with users_for(settings) as users:
        users.remove(args.email, args.site)
    print(f"{args.email} can no longer see {args.site}" if args.site else f"user {args.email} removed; sessions ended")
    return 0


def cmd_user_passwd(args: argparse.Namespace, settings: Settings) -> int:
    with users_for(settings) as users:
        users.passwd(args.email, hash_password(_password(args)))
    print(f"password of {args.email} changed; their sessions ended")
    return 0


def add_parsers(commands: Any, store: argparse.ArgumentParser) -> None:
    user = commands.add_parser("user", help="who may log in to the dashboard").add_subparsers(
        dest="user_command", required=True, metavar="SUBCOMMAND"
    )
    add = user.add_parser("add", parents=[store], help="add a user, or give a user one more site")
    add.add_argument("email")
    add.add_argument("--site", help="a site they may see (footfall site list)")
    add.add_argument("--role", choices=ROLES, default="viewer", help="viewer (default) or admin (also shares)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.add_argument("--json", action="store_true")
    add.set_defaults(run=cmd_user_add)
    lst = user.add_parser("list", parents=[store], help="list users and their sites")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(run=cmd_user_list)
    rm = user.add_parser("remove", parents=[store], help="remove a user (or, with --site, their access to it)")
    rm.add_argument("email")
    rm.add_argument("--site")
    rm.set_defaults(run=cmd_user_remove)
    pw = user.add_parser("passwd", parents=[store], help="set a new password (ends their sessions)")
    pw.add_argument("email")
    pw.add_argument("--password-stdin", action="store_true")
    pw.set_defaults(run=cmd_user_passwd)
