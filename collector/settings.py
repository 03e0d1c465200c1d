"""One typed settings object, built from FOOTFALL_* environment variables and CLI flags.

Every knob has a unit in its name. The object is immutable and passed explicitly (held on app.state);
nothing reads the environment anywhere else.
"""

import ipaddress
import os
import re
from collections.abc import Mapping
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from collector.errors import ConfigError

_IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"

Positive = Annotated[int, Meta(ge=1)]
PublicUrl = Annotated[str, Meta(pattern=r"^https?://[^\s\"'<>/?#]+(/[^\s\"'<>?#]*)?$", max_length=500)]


class Limits(msgspec.Struct, frozen=True, kw_only=True):
    """What one request to /v1/batch may carry. The SDKs' defaults stay well inside these."""

    max_body_bytes: Positive = 1 << 20  # as sent (compressed or not)
    max_decompressed_bytes: Positive = 8 << 20  # after gzip: the gzip-bomb guard
    max_events_per_batch: Positive = 1000
    max_properties_bytes: Positive = 32 << 10  # properties / traits of one event, JSON-encoded
    max_properties_depth: Positive = 5
    max_future_s: Positive = 86_400  # how far an event's ts may lie after the batch's sent_at
    site_rate_eps: Annotated[int, Meta(ge=0)] = 10_000  # events/s per site and process; 0: no limit
    site_burst_events: Positive = 50_000  # what a site may send at once before the rate applies
    body_timeout_s: Annotated[float, Meta(gt=0)] = 30.0  # from the handler's start to the body's last byte


class Batching(msgspec.Struct, frozen=True, kw_only=True):
    """How the spool groups rows into segments; each sealed segment becomes one INSERT."""

    max_rows: Positive = 20_000
    max_bytes: Positive = 16 << 20
    max_delay_ms: Positive = 1000  # a segment is sealed this long after its first row, at the latest
    max_spool_bytes: Positive = 1 << 30  # on disk, waiting for ClickHouse; beyond it ingest answers 503
    retry_after_s: Positive = 2
    dedup_window_ids: Positive = 200_000  # recently stored event ids kept to drop client retries
    dedup_window_s: Positive = 600


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    host: str = "127.0.0.1"
    port: Annotated[int, Meta(ge=0, le=65535)] = 8000
    workers: Positive = 1
    data_dir: str = "footfall-data"
    spool_dir: str | None = None  # default: <data_dir>/spool
    clickhouse_url: str | None = None
    database: Annotated[str, Meta(pattern=_IDENTIFIER)] = "footfall"
    cluster: Annotated[str, Meta(pattern=_IDENTIFIER)] | None = None
    public_url: PublicUrl | None = None  # how browsers reach this server: snippet tags, and where scripts post
    geoip: str | None = None  # a GeoLite2-City / DB-IP City Lite .mmdb; without one, geo stays empty
    trusted_proxies: str = ""  # comma-separated CIDRs whose X-Forwarded-For is believed
    sites_refresh_s: Annotated[float, Meta(gt=0)] = 10.0  # reload sites on this period
    sites_miss_reload_s: Annotated[float, Meta(ge=0)] = 1.0  # an unknown key reloads at most this often
    header_timeout_s: Annotated[float, Meta(gt=0)] = 10.0  # a request's headers must arrive within this
    limits: Limits = Limits()
    batching: Batching = Batching()

    @property
    def embedded(self) -> bool:
        return self.clickhouse_url is None

    @property
    def spool_path(self) -> str:
        return self.spool_dir or f"{self.data_dir}/spool"

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "localhost" if self.host in ("127.0.0.1", "0.0.0.0", "::", "") else self.host  # noqa: S104
        return f"http://{host}:{self.port}"

    @property
    def proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        try:
            return tuple(ipaddress.ip_network(p.strip()) for p in self.trusted_proxies.split(",") if p.strip())
        except ValueError as exc:
            raise ConfigError(f"FOOTFALL_TRUSTED_PROXIES / --trusted-proxies: {exc}") from exc

    def with_changes(self, **changes: Any) -> "Settings":
        merged: dict[str, Any] = msgspec.to_builtins(self)
        for key, value in _nest(changes).items():
            merged[key] = {**merged[key], **value} if isinstance(value, dict) else value
        return _build(merged, source="flags")


def _nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    """Route flat knob names (max_rows=...) into their group (batching={...})."""
    out: dict[str, Any] = {}
    groups = {"limits": Limits, "batching": Batching}
    for key, value in flat.items():
        if value is None:
            continue
        for group, cls in groups.items():
            if key in cls.__struct_fields__:
                out.setdefault(group, {})[key] = value
                break
        else:
            out[key] = value
    return out


def _all_knobs() -> list[str]:
    knobs = [f for f in Settings.__struct_fields__ if f not in ("limits", "batching")]
    return knobs + list(Limits.__struct_fields__) + list(Batching.__struct_fields__)


def env_name(knob: str) -> str:
    return "FOOTFALL_DATA" if knob == "data_dir" else f"FOOTFALL_{knob.upper()}"


def from_env(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from FOOTFALL_* variables, then explicit overrides (CLI flags) on top."""
    environ = os.environ if environ is None else environ
    flat: dict[str, Any] = {}
    for knob in _all_knobs():
        value = environ.get(env_name(knob))
        if value not in (None, ""):
            flat[knob] = value
    # An override of None means "not given on the command line".
    flat.update({k: v for k, v in overrides.items() if v is not None})
    return _build(_nest(flat), source="environment")


def _build(raw: Mapping[str, Any], *, source: str) -> Settings:
    try:
        return msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(_explain(str(exc), source)) from exc


def _explain(message: str, source: str) -> str:
    match = re.search(r"at `\$\.(?:limits\.|batching\.)?(\w+)`", message)
    if not match:
        return f"invalid settings: {message}"
    knob = match.group(1)
    reason = message.split(" - at ", maxsplit=1)[0]
    return f"invalid value for {knob} ({env_name(knob)} or {flag_name(knob)}): {reason}"


def flag_name(knob: str) -> str:
    return "--data" if knob == "data_dir" else "--" + knob.replace("_", "-")
