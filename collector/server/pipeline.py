"""What the collector runs while it serves, beside the routes: the enrichment parts (GeoIP, user
agents, the daily salts and their refresh), this process's spool, the writer that drains the spool
folders into ClickHouse, and the reload of sites. Entered by the app's lifespan (collector.server.app), and
by edge processes for the parts they have (collector.server.workers), and the roll of the traffic of
closed days."""

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from collector.enrich.agent import AgentParser
from collector.enrich.geo import GeoIP
from collector.enrich.salts import Salts
from collector.enrich.steps import Enricher
from collector.errors import StoreError
from collector.metrics import Metrics
from collector.reports import traffic_days
from collector.settings import Settings
from collector.storage.health import HealthProbe
from collector.storage.sink import RecentIds, Writer, warm_recent_ids
from collector.storage.site_registry import Sites
from collector.storage.spool import Folders, Spool, claim_folder
from collector.storage.store import Store

log = logging.getLogger("footfall")


@contextlib.asynccontextmanager
async def enriching(
    state: Any, settings: Settings, *, store: Store | None, snapshots: Path | None
) -> AsyncIterator[None]:
    """GeoIP, the user-agent parser and the daily salts, for as long as the app serves."""
    geoip = await asyncio.to_thread(GeoIP.open, settings.geoip)
    agents = AgentParser()
    salts = Salts(store=store, snapshot=snapshots / "salts.json" if snapshots else None)
    state.proxies = settings.proxy_networks
    state.enricher = Enricher(geoip=geoip, agents=agents, salts=salts)
    metrics: Metrics = state.metrics
    metrics.gauge("footfall_user_agent_cache_hits", "User agents answered from the cache.", lambda: agents.hits)
    metrics.gauge("footfall_user_agent_cache_misses", "User agents parsed.", lambda: agents.misses)
    refresher = asyncio.create_task(_refresh_salts(salts, state.now_ms))
    try:
        yield
    finally:
        refresher.cancel()
        geoip.close()


SALT_REFRESH_S: Final = 60


async def _refresh_salts(salts: Salts, now_ms: Callable[[], int]) -> None:
    """Read the salts again every minute (a worker: its snapshot): tomorrow's is made while ClickHouse
    answers, so midnight needs nothing from it, and collectors that raced to make a day's salt settle on
    one within a minute. By the app's clock, as requests are, so both agree on which day it is."""
    while True:
        try:
            await salts.refresh(now_ms())
        except (StoreError, OSError) as exc:
            log.warning("could not refresh the visitor-key salts (the ones held stay in use): %s", exc)
        await asyncio.sleep(SALT_REFRESH_S)


@contextlib.asynccontextmanager
async def spooling(state: Any, settings: Settings) -> AsyncIterator[Spool]:
    """This process's own spool folder, open for appends while the app serves."""
    batching = settings.batching
    folder, lock_fd = await asyncio.to_thread(claim_folder, Path(settings.spool_path))
    spool = Spool(
        folder,
        segment_rows=batching.max_rows,
        segment_bytes=batching.max_bytes,
        segment_age_s=batching.max_delay_ms / 1000,
        max_bytes=batching.max_spool_bytes,
        retry_after_s=batching.retry_after_s,
    )
    damage = await asyncio.to_thread(spool.open)
    state.metrics.spool_damaged.inc(by=damage.records)
    state.metrics.gauge("footfall_spool_bytes", "Bytes in this process's spool folder, read from disk.", spool.measure)
    state.spool = spool
    await spool.start()
    try:
        yield spool
    finally:
        await spool.close()
        os.close(lock_fd)


@contextlib.asynccontextmanager
async def pipeline(state: Any, settings: Settings, *, edges: bool) -> AsyncIterator[None]:
    """The spool, and the writer that drains this process's spool folder into ClickHouse, with those of
    its edge processes (`edges`) and of processes that are gone."""
    batching = settings.batching
    async with spooling(state, settings) as spool:
        recent = RecentIds(max_ids=batching.dedup_window_ids, max_age_s=batching.dedup_window_s)
        await asyncio.to_thread(warm_recent_ids, state.store, recent, batching)
        folders = Folders(
            Path(settings.spool_path),
            spool.path,
            edges=edges,
            damaged=lambda damage: state.metrics.spool_damaged.inc(by=damage.records),
        )
        writer = Writer(
            state.store, folders, state.metrics, recent=recent, wake=spool.sealed_event, now_ms=state.now_ms
        )
        state.writer = writer
        state.ingest_health = HealthProbe(writer, Path(settings.spool_path), now_ms=state.now_ms)
        await writer.start()
        try:
            yield
        finally:
            await spool.close()  # seal before the writer's last round, so it stores everything
            await writer.stop()
            folders.close()


async def refresh_sites(sites: Sites, every_s: float) -> None:
    while True:
        await asyncio.sleep(every_s)
        try:
            await asyncio.to_thread(sites.load)
        except StoreError as exc:
            log.warning("could not reload sites: %s", exc)


ROLL_EVERY_S: Final = 600  # longer than traffic_days.ROLL_MARGIN_S: a late event's day is rolled twice at most


async def roll_traffic(store: Store, now_ms: Callable[[], int], every_s: float = ROLL_EVERY_S) -> None:
    """Roll the closed days into traffic_days (collector.reports.traffic_days) every 10 minutes (not at
    start: a store just opened may be far behind, and its answers are exact meanwhile, only slower),
    by the app's clock, as requests count days: the day that just ended, and days late events reached."""
    while True:
        await asyncio.sleep(every_s)
        today = datetime.fromtimestamp(now_ms() / 1000, UTC).date()
        try:
            rolled = await asyncio.to_thread(traffic_days.roll, store, today)
        except StoreError as exc:
            log.warning("could not roll the traffic of closed days (answers read their sessions): %s", exc)
        else:
            if rolled:
                log.info("rolled the traffic of %d closed site days", rolled)
