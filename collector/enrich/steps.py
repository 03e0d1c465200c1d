"""From a decoded event to the row ClickHouse stores: an ordered tuple of small steps.

`to_row` copies what the client sent; each step then drops the event (returning a DropReason: a drop
is data, counted per site and reason, never raised) or adds what the collector derives. What is the
same for every event of a request (the site, the clocks, the visitor's address, agent and place) is
worked out once, in `Enricher.arrival`; the raw address is used there and never stored or logged.
"""

import contextlib
import enum
import functools
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import parse_qsl, urlsplit

import msgspec

from collector import wire
from collector.enrich.agent import Agent, AgentParser
from collector.enrich.customer import TraitPolicy, keep_traits, put_order, trait_policy
from collector.enrich.geo import UNKNOWN, Geo, GeoIP
from collector.enrich.salts import Salts
from collector.enrich.visitors import visitor_key
from collector.privacy import (
    DEFAULT_DENY_KEYS,
    DEFAULT_DROP_PARAMS,
    name_set,
    page_key,
    scrub_properties,
    scrub_url,
    width_bucket,
)
from collector.sites import PeopleSettings, Site, SiteSettings
from collector.storage.rows import EventRow, epoch_ms, epoch_text

_props: Final = msgspec.json.Encoder()
UTM_KEYS: Final = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
HEATMAP_TYPES: Final = frozenset({"click", "rageclick", "deadclick", "move", "scroll"})


class DropReason(enum.StrEnum):
    BOT = "bot"
    NO_CONSENT = "no_consent"


@dataclass(frozen=True, slots=True)
class Privacy:
    """A site's scrubbing lists (ours plus its own) and bot policy, built once per settings value."""

    drop_params: frozenset[str]
    deny_keys: frozenset[str]
    keep_bots: bool
    traits: TraitPolicy
    people: PeopleSettings


@functools.lru_cache(maxsize=1024)
def privacy_of(settings: SiteSettings) -> Privacy:
    return Privacy(
        drop_params=DEFAULT_DROP_PARAMS | name_set(settings.drop_params),
        deny_keys=DEFAULT_DENY_KEYS | name_set(settings.deny_keys),
        keep_bots=settings.keep_bots,
        traits=trait_policy(settings.people, settings.deny_keys),
        people=settings.people,
    )


@dataclass(frozen=True, slots=True)
class Visitor:
    """Who sent an event, as far as footfall keeps it: a place, an agent, a key for the day."""

    geo: Geo = UNKNOWN
    agent: Agent | None = None  # None: no end user's agent is known (a server call that forwarded none)
    key: str = ""


NOBODY: Final = Visitor()


@dataclass(frozen=True, slots=True)
class Arrival:
    """What is shared by every event of one request."""

    site: Site
    received_ms: int
    sent_ms: int | None
    context: wire.Context
    visitor: Visitor = NOBODY
    # A server call's events may name their own end user (event.context.ip / user_agent): this works
    # such a visitor out (cached per request). None for a page's requests, whose visitor is the peer.
    resolve: Callable[[str, str], Visitor] | None = None

    def visitor_for(self, event: wire.AnyEvent) -> Visitor:
        own = event.context
        if self.resolve is None or own is None or (own.ip is None and own.user_agent is None):
            return self.visitor
        return self.resolve(own.ip or self.context.ip or "", own.user_agent or self.context.user_agent or "")

    def consent_for(self, event: wire.AnyEvent) -> wire.Consent:
        own = event.context
        return own.consent if own is not None and own.consent is not None else self.context.consent

    @property
    def skew_ms(self) -> int:
        """How far the client's clock is behind ours (negative: ahead). Includes time in transit."""
        return 0 if self.sent_ms is None else self.received_ms - self.sent_ms

    @property
    def privacy(self) -> Privacy:
        return privacy_of(self.site.settings)

    def corrected_ms(self, client_ms: int, age_ms: int | None = None) -> int:
        """The event's time on our clock; never later than its arrival.

        With the client's monotonic age of the event, arrival minus age (immune to the client's wall
        clock jumping between the event and the send); otherwise the client's time moved by the batch's
        skew (received_at - sent_at). Both count the time in transit (usually milliseconds) as age."""
        if age_ms is not None:
            return self.received_ms - age_ms
        return min(client_ms + self.skew_ms, self.received_ms)


class Enricher:
    """The parts enrichment reads from: a GeoIP database, the user-agent parser, the daily salts."""

    def __init__(self, *, geoip: GeoIP, agents: AgentParser, salts: Salts) -> None:
        self.geoip = geoip
        self.agents = agents
        self.salts = salts

    async def arrival(
        self,
        site: Site,
        batch: wire.Batch,
        *,
        received_ms: int,
        peer_ip: str,
        user_agent: str,
        browser: bool,
    ) -> Arrival:
        """`browser`: the request came from a page (it has an Origin), so the peer address and the
        User-Agent header are the visitor's. A server call counts only what it forwards in its context."""
        context = batch.context
        ip = peer_ip if browser else (context.ip or "")
        agent_string = user_agent if browser else (context.user_agent or "")
        salt = await self.salts.today(received_ms)  # cached: a look at the date
        resolve = None
        if not browser:
            seen: dict[tuple[str, str], Visitor] = {}

            def resolve(event_ip: str, event_agent: str) -> Visitor:
                found = seen.get((event_ip, event_agent))
                if found is None:
                    found = seen[(event_ip, event_agent)] = self._visitor(site, salt, event_ip, event_agent)
                return found

        return Arrival(
            site=site,
            received_ms=received_ms,
            sent_ms=None if batch.sent_at is None else epoch_ms(batch.sent_at),
            context=context,
            visitor=self._visitor(site, salt, ip, agent_string),
            resolve=resolve,
        )

    def _visitor(self, site: Site, salt: bytes | None, ip: str, agent_string: str) -> Visitor:
        if not ip and not agent_string:
            return NOBODY
        return Visitor(
            geo=self.geoip.lookup(ip) if ip else UNKNOWN,
            agent=self.agents.parse(agent_string) if agent_string else None,
            key=visitor_key(site_id=site.site_id, salt=salt, ip=ip, user_agent=agent_string) if salt and ip else "",
        )


Step = Callable[[EventRow, wire.AnyEvent, Arrival], DropReason | None]


def to_row(event: wire.AnyEvent, arrival: Arrival) -> EventRow:
    client_ms = epoch_ms(event.ts)
    consent = arrival.consent_for(event)
    row = EventRow(
        site_id=arrival.site.site_id,
        event_id=str(event.id),
        type=event.__struct_config__.tag,  # type: ignore[arg-type]
        timestamp=epoch_text(arrival.corrected_ms(client_ms, event.age_ms)),
        age_ms=event.age_ms,
        client_ts=epoch_text(client_ms),
        received_at=epoch_text(arrival.received_ms),
        sent_at=None if arrival.sent_ms is None else epoch_text(arrival.sent_ms),
        anonymous_id=event.anonymous_id or "",
        user_id=event.user_id or "",
        session_id=event.session_id or "",
        url=event.url or "",
        referrer=event.referrer or "",
        title=event.title or "",
        viewport_w=event.viewport_w or 0,
        viewport_h=event.viewport_h or 0,
        doc_w=event.doc_w or 0,
        doc_h=event.doc_h or 0,
        consent_analytics=consent.analytics,
        consent_heatmaps=consent.heatmaps,
        consent_marketing=consent.marketing,
        library=arrival.context.library.name,
        library_version=arrival.context.library.version,
        retention_days=arrival.site.settings.retention_days,
    )
    _COPY[type(event)](row, event)
    return row


def _copy_name(row: EventRow, event: wire.AnyEvent) -> None:
    row.name = getattr(event, "name", None) or ""


def _copy_nothing(row: EventRow, event: wire.AnyEvent) -> None:
    pass  # identify: user_id is copied with the common fields, traits by put_scrubbed


def _copy_group(row: EventRow, event: wire.AnyEvent) -> None:
    assert isinstance(event, wire.Group)
    row.group_id = event.group_id


def _copy_alias(row: EventRow, event: wire.AnyEvent) -> None:
    assert isinstance(event, wire.Alias)
    row.previous_id = event.previous_id


def _copy_click(row: EventRow, event: wire.AnyEvent) -> None:
    assert isinstance(event, wire.Click)
    row.x, row.y = event.x, event.y
    row.selector = event.selector or ""
    row.el_x, row.el_y = event.el_x or 0, event.el_y or 0
    row.el_w, row.el_h = event.el_w or 0, event.el_h or 0
    if isinstance(event, wire.Rageclick):
        row.clicks = event.clicks or 0
    row.fixed = event.fixed


def _copy_move(row: EventRow, event: wire.AnyEvent) -> None:
    assert isinstance(event, wire.Move)
    row.points = event.points


def _copy_scroll(row: EventRow, event: wire.AnyEvent) -> None:
    assert isinstance(event, wire.Scroll)
    row.depth = round(event.depth)


_COPY: Final[dict[type, Callable[[EventRow, wire.AnyEvent], None]]] = {
    wire.Pageview: _copy_name,
    wire.Track: _copy_name,
    wire.Identify: _copy_nothing,
    wire.Group: _copy_group,
    wire.Alias: _copy_alias,
    wire.Click: _copy_click,
    wire.Rageclick: _copy_click,
    wire.Deadclick: _copy_click,
    wire.Move: _copy_move,
    wire.Scroll: _copy_scroll,
}


def drop_no_consent(row: EventRow, event: wire.AnyEvent, arrival: Arrival) -> DropReason | None:
    """Heatmap events need the heatmaps tier, everything else the analytics tier."""
    consent = arrival.consent_for(event)
    allowed = consent.heatmaps if row.type in HEATMAP_TYPES else consent.analytics
    return None if allowed else DropReason.NO_CONSENT


def drop_bot(row: EventRow, event: wire.AnyEvent, arrival: Arrival) -> DropReason | None:
    agent = arrival.visitor_for(event).agent
    return DropReason.BOT if agent is not None and agent.is_bot and not arrival.privacy.keep_bots else None


def put_scrubbed(row: EventRow, event: wire.AnyEvent, arrival: Arrival) -> DropReason | None:
    """PII out of URLs and properties before anything is derived from them; traits as the site keeps
    them (collector/enrich/customer.py); an order's amount and currency where the rollups read them."""
    privacy = arrival.privacy
    if row.url:
        row.url = scrub_url(row.url, drop_params=privacy.drop_params)
    if row.referrer:
        row.referrer = scrub_url(row.referrer, drop_params=privacy.drop_params)
    if event.properties:
        properties = scrub_properties(event.properties, deny_keys=privacy.deny_keys)
        put_order(properties, privacy.people)
        row.properties = _props.encode(properties).decode()
    if isinstance(event, wire.Identify | wire.Group):
        if event.traits:
            row.traits = _props.encode(keep_traits(event.traits, privacy.traits)).decode()
        if event.traits_once:
            row.traits_once = _props.encode(keep_traits(event.traits_once, privacy.traits)).decode()
        row.traits_unset = list(event.unset)
    return None


def put_page(row: EventRow, event: wire.AnyEvent, arrival: Arrival) -> DropReason | None:
    """host, path and UTM parameters from the (scrubbed) page URL."""
    if not row.url:
        return None
    try:
        parts = urlsplit(row.url)
    except ValueError:  # e.g. an unclosed IPv6 bracket: keep the URL as sent, derive nothing
        return None
    row.host = (parts.hostname or "")[:253]
    row.path = parts.path or "/"
    if "utm_" in parts.query:
        for key, value in parse_qsl(parts.query):
            if key in UTM_KEYS:
                setattr(row, key, value[:500])
    return None


def put_referrer(row: EventRow, event: wire.AnyEvent, arrival: Arrival) -> DropReason | None:
    if row.referrer:
        with contextlib.suppress(ValueError):
            row.referrer_host = (urlsplit(row.referrer).hostname or "")[:253]
    return None


def put_visitor(row: EventRow, event: wire.AnyEvent, arrival: Arrival) -> DropReason | None:
    """Place, agent and the day's visitor key, worked out once per request (or per end user named)."""
    visitor = arrival.visitor_for(event)
    geo, agent = visitor.geo, visitor.agent
    row.country, row.region, row.city = geo.country, geo.region, geo.city
    if agent is not None:
        row.browser, row.browser_version = agent.browser, agent.browser_version
        row.os, row.os_version, row.device, row.is_bot = agent.os, agent.os_version, agent.device, agent.is_bot
    row.visitor_key = visitor.key
    return None


def put_heatmap(row: EventRow, event: wire.AnyEvent, arrival: Arrival) -> DropReason | None:
    """page_key, the viewport's width bucket and x as a fraction of the document width."""
    if row.host or row.path:  # the URL could be read
        row.page_key = page_key(row.url, hash_routes=arrival.site.settings.snippet.hash_routes)
    row.width_bucket = width_bucket(row.viewport_w)
    if row.doc_w and row.type in HEATMAP_TYPES:
        row.x_frac = min(row.x / row.doc_w, 1.0)
    return None


STEPS: Final[tuple[Step, ...]] = (
    drop_no_consent,
    drop_bot,
    put_scrubbed,
    put_page,
    put_referrer,
    put_visitor,
    put_heatmap,
)


def enrich(event: wire.AnyEvent, arrival: Arrival) -> EventRow | DropReason:
    row = to_row(event, arrival)
    for step in STEPS:
        dropped = step(row, event, arrival)
        if dropped is not None:
            return dropped
    return row


@dataclass
class Enriched:
    """A request's rows to store, how many events each policy dropped, and the first few events it
    dropped for each reason (for the drop samples)."""

    rows: list[EventRow] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)
    examples: list[tuple[DropReason, wire.AnyEvent]] = field(default_factory=list)


def enrich_all(events: Iterable[wire.AnyEvent], arrival: Arrival, *, examples_per_reason: int = 0) -> Enriched:
    out = Enriched()
    for event in events:
        row = enrich(event, arrival)
        if isinstance(row, DropReason):
            out.dropped[row] += 1
            if out.dropped[row] <= examples_per_reason:
                out.examples.append((row, event))
        else:
            out.rows.append(row)
    return out
