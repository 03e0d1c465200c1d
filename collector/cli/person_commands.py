"""`footfall person show ID --site NAME`: one person's profile in the terminal (or as JSON), read from
the store, or through the running server while `footfall serve` owns it."""

import argparse
import json
import sys
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

import msgspec

from collector.cli.site_commands import RemoteServer, acting_on
from collector.errors import ApiError, ConfigError, SiteNotFound
from collector.people import profile
from collector.settings import Settings
from collector.storage.site_registry import Sites
from collector.storage.store import Store

Lookup = Callable[[str, str], dict[str, Any]]


def _local(store: Store) -> Lookup:
    sites = Sites(store)
    sites.load()

    def lookup(site_name: str, person_id: str) -> dict[str, Any]:
        site = sites.by_name(site_name)
        if site is None:
            raise SiteNotFound(f"no site named {site_name!r}; `footfall site list` shows them")
        try:
            answer = profile.profile(store, site, person_id, {}, now_ms=time.time_ns() // 1_000_000)
        except ApiError as exc:
            raise ConfigError(exc.detail) from exc
        found: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(answer))
        return found

    return lookup


class RemotePeople(RemoteServer):
    """The lookup, asked of the running server (its admin API)."""

    def __call__(self, site_name: str, person_id: str) -> dict[str, Any]:
        path = f"/admin/v1/sites/{urllib.parse.quote(site_name)}/people/{urllib.parse.quote(person_id, safe='')}"
        found: dict[str, Any] = self._call("GET", path)
        return found


def _remote(url: str, token: str) -> Lookup:
    return RemotePeople(url, token)


def cmd_person_show(args: argparse.Namespace, settings: Settings) -> int:
    with acting_on(settings, _local, _remote) as lookup:
        found = lookup(args.site, args.id)
    if args.json:
        print(json.dumps(found, indent=2))
    else:
        sys.stdout.write(render(found, events=args.events))
    return 0


def _when(text: str) -> str:
    return text[:16].replace("T", " ") + " UTC" if text else "-"


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def render(p: dict[str, Any], *, events: int = 10) -> str:
    """The profile as a terminal page: who, when, from where, what they did and bought, their traits."""
    ids, act, touch, consent = p["identities"], p["activity"], p["first_touch"], p["consent"]
    lines = [
        p["person"]
        + (
            f"  (user id; anonymous ids: {', '.join(ids['anonymous_ids']) or 'none'})"
            if ids["user_id"]
            else "  (anonymous)"
        )
    ]
    if ids["aliases"]:
        lines.append(f"aliases      {', '.join(ids['aliases'])}")
    lines.append(
        f"seen         {_when(p['first_seen'])} .. {_when(p['last_seen'])} ({act['days_since_last_seen']} days ago)"
    )
    source = touch["referrer_host"] or "direct"
    campaign = "/".join(x for x in (touch["utm_source"], touch["utm_medium"], touch["utm_campaign"]) if x)
    place = " · ".join(x for x in (touch["country"], touch["device"], touch["browser"], touch["os"]) if x)
    lines.append(
        f"first touch  {source}"
        + (f" · utm {campaign}" if campaign else "")
        + (f" · {place}" if place else "")
        + f" · {touch['page'] or '-'}"
    )
    lines.append(
        f"activity     {act['events']} events · {act['sessions']} sessions · {act['active_days']} active days "
        f"({act['active_days_7']} in the last 7, {act['active_days_28']} in the last 28) · "
        f"cohort week {p['cohorts']['week']}"
    )
    for money in p["transactions"] or [None]:
        if money is None:
            lines.append("orders       none")
            continue
        lines.append(
            f"orders       {money['currency'] or '(no currency)'}: {money['orders']} orders, {money['revenue']:.2f} "
            f"(average {money['average_order']:.2f}), last {_when(money['last'])}"
        )
    yes = {True: "yes", False: "no"}
    lines.append(
        f"consent      analytics {yes[consent['analytics']]} · heatmaps {yes[consent['heatmaps']]} · "
        f"marketing {yes[consent['marketing']]} (as of {_when(consent['as_of'])})"
    )
    for i, (key, trait) in enumerate(sorted(p["traits"].items())):
        lines.append(
            f"{'traits' if i == 0 else '':<13}{key} = {_value(trait['value'])}  (set {_when(trait['set_at'])})"
        )
    for group in p["groups"]:
        traits = ", ".join(f"{k} = {_value(t['value'])}" for k, t in sorted(group["traits"].items()))
        lines.append(f"group        {group['group_id']}" + (f": {traits}" if traits else ""))
    names = ", ".join(f"{e['name']} {e['count']}" for e in p["events_by_name"][:12])
    lines.append(f"events       {names}")
    pages = ", ".join(f"{page['page']} {page['views']}" for page in p["top_pages"][:5])
    lines.append(f"top pages    {pages or '-'}")
    for i, event in enumerate(p["timeline"]["events"][:events]):
        what = event["name"] or event["type"]
        where = event["page"] or event["other_id"] or event["selector"]
        props = json.dumps(event["properties"]) if event["properties"] else ""
        lines.append(f"{'recent' if i == 0 else '':<13}{_when(event['at'])}  {what}  {where}  {props}".rstrip())
    return "\n".join(lines) + "\n"


def add_parsers(commands: Any, store: argparse.ArgumentParser) -> None:
    person = commands.add_parser("person", help="one person's profile").add_subparsers(
        dest="person_command", required=True, metavar="SUBCOMMAND"
    )
    show = person.add_parser("show", parents=[store], help="print a person's profile (any of their ids)")
    show.add_argument("id", help="a user id or an anonymous id")
    show.add_argument("--site", required=True, help="the site's name (footfall site list)")
    show.add_argument("--events", type=int, default=10, help="how many recent events to print (default 10)")
    show.add_argument("--json", action="store_true", help="the API's JSON answer instead")
    show.set_defaults(run=cmd_person_show)
