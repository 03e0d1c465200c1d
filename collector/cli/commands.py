"""`footfall`: serve, migrate, and manage sites — on the embedded engine or a ClickHouse server."""

import argparse
import json
import logging
import os
import secrets
import signal
import socket
import sys
from collections.abc import Sequence
from typing import Any

import msgspec

from collector import __version__
from collector.accounts.users import Users
from collector.cli import person_commands, user_commands
from collector.cli.site_commands import RemoteSites, SiteCommands, sites_for, store_for
from collector.enrich.geo import GeoIP
from collector.errors import ConfigError, FootfallError, SiteError, SiteNotFound, StoreMissing
from collector.server import http_protocol, snippet
from collector.server.workers import main_app_extras
from collector.settings import Settings, env_name, from_env
from collector.sites import DEFAULT_ORIGINS
from collector.storage import migrate
from collector.storage.site_registry import Sites
from collector.storage.store import Store, open_store
from collector.storage.store_chdb import ChdbStore


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = from_env(**_overrides(args))
        result: int = args.run(args, settings)
        return result
    except StoreMissing as exc:  # pointed at the wrong place: a usage error, as argparse's are
        print(f"footfall: {exc}", file=sys.stderr)
        return 2
    except FootfallError as exc:
        print(f"footfall: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


# -- commands -----------------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from collector.server.app import create_app

    edges = settings.workers > 1 and settings.embedded
    settings.proxy_networks  # noqa: B018 — a bad --trusted-proxies stops here, with a message
    GeoIP.open(settings.geoip).close()  # likewise a missing or broken --geoip file
    sock = _bind(settings.host, settings.port, shared=edges)
    port = sock.getsockname()[1]
    settings = settings.with_changes(port=port)
    _setup_logging()
    store = open_store(settings)
    internal: socket.socket | None = None
    try:
        ran = migrate.migrate(store, cluster=settings.cluster)
        if ran:
            print(f"footfall: schema migrated ({', '.join(f'{m.version:04d}_{m.name}' for m in ran)})")
        _greet(Sites(store), settings)
        print(f"footfall {__version__}: collecting at {settings.base_url} into {store.url}", flush=True)
        setup_code = _dashboard_greeting(store, settings)
        if not settings.public_url and settings.host not in _LOOPBACK:
            print(
                "footfall: no --public-url, so scripts are served only to requests that name this machine's "
                "own address; behind a proxy or under a DNS name, set --public-url",
                flush=True,
            )
        if settings.workers > 1 and not settings.embedded:
            # Every worker talks to the ClickHouse server on its own: plain uvicorn workers will do.
            store.close()
            sock.close()
            os.environ.update(_env_for_workers(settings))
            if setup_code:
                os.environ["FOOTFALL_SETUP_CODE"] = setup_code  # every worker must take the same one
            uvicorn.run(
                "collector.server.app:app_from_env",
                factory=True,
                host=settings.host,
                port=port,
                workers=settings.workers,
                http=http_protocol.HeaderDeadlineFromEnv,
                **http_protocol.SERVE_OPTIONS,
            )
            return 0
        token = store.datadir.announce_server(settings.base_url) if isinstance(store, ChdbStore) else None
        extras: dict[str, Any] = {}
        sockets = [sock]
        if edges:
            # One process owns the embedded engine; the others take ingest beside it (collector.server.workers).
            internal = _bind("127.0.0.1", 0)
            extras = main_app_extras(settings, port=port, internal=internal)
            sockets.append(internal)
        app = create_app(settings, store=store, admin_token=token, setup_code=setup_code, **extras)
        config = http_protocol.uvicorn_config(app, header_timeout_s=settings.header_timeout_s)
        # uvicorn shuts down gracefully on SIGTERM, then raises the signal again; by then everything
        # is written, so let that end `serve` normally (exit 0) and close the store below.
        signal.signal(signal.SIGTERM, lambda signum, frame: None)
        uvicorn.Server(config).run(sockets=sockets)
    finally:
        sock.close()
        if internal is not None:
            internal.close()
        store.close()
    return 0


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    # On a ClickHouse server, creating the schema ahead of a deploy is what `migrate` is for.
    with store_for(settings, create=not settings.embedded) as store:
        ran = migrate.migrate(store, cluster=settings.cluster)
    names = ", ".join(f"{m.version:04d}_{m.name}" for m in ran)
    print(f"applied {len(ran)} migration(s){': ' + names if names else ''}; {store.url} is up to date")
    return 0


def cmd_site_add(args: argparse.Namespace, settings: Settings) -> int:
    with sites_for(settings, create=True) as sites:
        keys = sites.add(args.name, args.origin, args.retention_days)
    _print_keys(keys, _tag_base(settings, sites), args.json, verb="added")
    return 0


def cmd_site_list(args: argparse.Namespace, settings: Settings) -> int:
    with sites_for(settings) as sites:
        listed = sites.listing()
    if args.json:
        print(json.dumps(listed, indent=2))
        return 0
    if not listed:
        print("no sites yet: add one with `footfall site add NAME --origin https://your.site`")
    for site in listed:
        origins = ", ".join(site["allowed_origins"]) or "(server-side only)"
        print(
            f"{site['site']}  (id {site['site_id']})\n  write key: {site['write_key']}\n  origins:   {origins}\n"
            f"  keeps:     {site['retention_days']} days"
        )
    return 0


def cmd_site_rotate(args: argparse.Namespace, settings: Settings) -> int:
    with sites_for(settings) as sites:
        keys = sites.rotate(args.name, "write" if args.write else "read")
    _print_keys(keys, _tag_base(settings, sites), args.json, verb="has new keys")
    return 0


def cmd_site_origins(args: argparse.Namespace, settings: Settings) -> int:
    with sites_for(settings) as sites:
        site = sites.origins(args.name, args.add, args.remove)
    if args.json:
        print(json.dumps(site, indent=2))
    else:
        print(f"{site['site']} accepts events from: {', '.join(site['allowed_origins']) or 'no browser origin'}")
    return 0


def cmd_site_configure(args: argparse.Namespace, settings: Settings) -> int:
    changes: dict[str, Any] = {}
    for pair in args.changes:
        name, equals, text = pair.partition("=")
        if not equals or not name:
            raise SiteError(f"{pair!r}: write NAME=VALUE, e.g. snippet.consent=opt-in")
        try:
            changes[name] = json.loads(text)  # true, 30, null, ["a", "b"]
        except ValueError:
            changes[name] = text  # a plain word: opt-in, /collect, .card,.account
    with sites_for(settings) as sites:
        site = sites.configure(args.name, changes) if changes else _one(sites, args.name)
    print(json.dumps(site["settings"], indent=2))
    return 0


def _one(sites: SiteCommands, name: str) -> dict[str, Any]:
    match = [s for s in sites.listing() if s["site"] == name]
    if not match:
        raise SiteNotFound(f"no site named {name!r}")
    return match[0]


def cmd_snippet(args: argparse.Namespace, settings: Settings) -> int:
    with sites_for(settings) as sites:
        site = _one(sites, args.name)
    print((snippet.tag if args.tag_only else snippet.tags)(_tag_base(settings, sites), site["write_key"]))
    return 0


def _tag_base(settings: Settings, sites: SiteCommands) -> str:
    """Where browsers fetch scripts: the public URL if this command was given one, else where the
    running server says it collects (its own public URL or port), else this command's settings."""
    if not settings.public_url and isinstance(sites, RemoteSites):
        return sites.url
    return settings.base_url


# -- helpers ------------------------------------------------------------------------------------


def _greet(sites: Sites, settings: Settings) -> None:
    sites.load()
    if sites.all():
        for site in sites.all():
            print(f"site {site.name}: {snippet.tag(settings.base_url, site.write_key)}")
        return
    keys = sites.add("default", DEFAULT_ORIGINS)
    _print_keys(msgspec.to_builtins(keys), settings.base_url, False, verb="created (first start)")


def _dashboard_greeting(store: Store, settings: Settings) -> str | None:
    """Where the dashboard is; before anyone has an account, the code that creates the first one."""
    if Users(store, clock_ms=lambda: 0).exists():
        print(f"dashboard: {settings.base_url}/dashboard/", flush=True)
        return None
    code = secrets.token_urlsafe(9)
    print(
        f"dashboard: {settings.base_url}/dashboard/setup?code={code}  (open it to create the first account)", flush=True
    )
    return code


def _print_keys(keys: dict[str, Any], base_url: str, as_json: bool, *, verb: str) -> None:
    if as_json:
        print(json.dumps(keys))
        return
    print(f"site {keys['site']} {verb}")
    print(f"  write key: {keys['write_key']}   (public: it goes into the snippet)")
    if keys.get("read_key"):
        print(f"  read key:  {keys['read_key']}   (secret, shown once: Authorization: Bearer <read key>)")
    print(f"  snippet:   {snippet.tag(base_url, keys['write_key'])}")


_LOOPBACK = ("127.0.0.1", "::1", "localhost")


def _bind(host: str, port: int, *, shared: bool = False) -> socket.socket:
    """Listen on host:port, or explain why not. `shared`: edge processes will bind the same port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if shared:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == 98:
            raise ConfigError(f"port {port} on {host} is in use; pick another with --port") from exc
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _env_for_workers(settings: Settings) -> dict[str, str]:
    env = {}
    flat = {**msgspec.to_builtins(settings.limits), **msgspec.to_builtins(settings.batching)}
    flat.update({k: v for k, v in msgspec.to_builtins(settings).items() if k not in ("limits", "batching")})
    for knob, value in flat.items():
        if value is not None:
            env[env_name(knob)] = str(value)
    return env


def _setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    names = (
        "host",
        "port",
        "workers",
        "data_dir",
        "clickhouse_url",
        "database",
        "public_url",
        "geoip",
        "trusted_proxies",
    )
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="footfall",
        description="Self-hosted product analytics on ClickHouse.",
        epilog="Every flag also reads a FOOTFALL_* environment variable (e.g. FOOTFALL_DATA).",
    )
    parser.add_argument("--version", action="version", version=f"footfall {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    store = argparse.ArgumentParser(add_help=False)
    store.add_argument(
        "--data",
        dest="data_dir",
        metavar="DIR",
        help="embedded store folder (default ./footfall-data; FOOTFALL_DATA)",
    )
    store.add_argument(
        "--clickhouse-url",
        metavar="URL",
        help="use a ClickHouse server: http://user:pass@host:8123/db (FOOTFALL_CLICKHOUSE_URL)",
    )
    store.add_argument("--database", metavar="NAME", help="database name when the URL names none (footfall)")
    web = argparse.ArgumentParser(add_help=False)
    web.add_argument("--public-url", metavar="URL", help="how browsers reach this server, for snippet tags")

    serve = commands.add_parser("serve", parents=[store, web], help="run the collector")
    serve.add_argument("--host", help="interface to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8000)")
    serve.add_argument("--workers", type=int, help="HTTP worker processes (default 1)")
    serve.add_argument("--geoip", metavar="FILE", help="a GeoLite2-City or DB-IP City Lite .mmdb (FOOTFALL_GEOIP)")
    serve.add_argument(
        "--trusted-proxies", metavar="CIDRS", help="believe X-Forwarded-For from these, e.g. 10.0.0.0/8,127.0.0.1/32"
    )
    serve.set_defaults(run=cmd_serve)

    mig = commands.add_parser("migrate", parents=[store], help="bring the schema up to date")
    mig.set_defaults(run=cmd_migrate)

    snip = commands.add_parser(
        "snippet", parents=[store, web], help="print a site's <script> tag, after the stub that queues early calls"
    )
    snip.add_argument("name")
    snip.add_argument("--tag-only", action="store_true", help="only the <script> tag (no calls before it has run)")
    snip.set_defaults(run=cmd_snippet)

    site = commands.add_parser("site", help="add, list and change sites").add_subparsers(
        dest="site_command", required=True, metavar="SUBCOMMAND"
    )
    add = site.add_parser("add", parents=[store, web], help="add a site and print its keys")
    add.add_argument("name")
    add.add_argument(
        "--origin",
        action="append",
        default=[],
        metavar="URL",
        help="a page origin allowed to send events (repeat; https://*.shop.example works)",
    )
    add.add_argument("--retention-days", type=int, help="how long raw events are kept (default 400)")
    add.add_argument("--json", action="store_true", help='print {"site", "write_key", "read_key"}')
    add.set_defaults(run=cmd_site_add)
    lst = site.add_parser("list", parents=[store], help="list sites")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(run=cmd_site_list)
    rot = site.add_parser("rotate-key", parents=[store, web], help="issue a new read key (or --write key)")
    rot.add_argument("name")
    rot.add_argument("--write", action="store_true", help="rotate the write key instead (update your snippet)")
    rot.add_argument("--json", action="store_true")
    rot.set_defaults(run=cmd_site_rotate)
    org = site.add_parser("origins", parents=[store], help="change the origins a site accepts")
    org.add_argument("name")
    org.add_argument("--add", action="append", default=[], metavar="URL")
    org.add_argument("--remove", action="append", default=[], metavar="URL")
    org.add_argument("--json", action="store_true")
    org.set_defaults(run=cmd_site_origins)
    cfg = site.add_parser(
        "configure",
        parents=[store],
        help="show or change a site's settings (snippet features, consent, masking, ...)",
        description="With no NAME=VALUE, prints the settings. Lists take JSON or commas; null restores a default.",
        epilog="e.g. footfall site configure shop snippet.consent=opt-in snippet.mask=.account,#card "
        "snippet.moves=false snippet.keep_params=q,page snippet.endpoint=/collect",
    )
    cfg.add_argument("name")
    cfg.add_argument("changes", nargs="*", metavar="NAME=VALUE")
    cfg.set_defaults(run=cmd_site_configure)
    user_commands.add_parsers(commands, store)
    person_commands.add_parsers(commands, store)
    return parser
