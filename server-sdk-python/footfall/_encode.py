"""Events to JSON, once each, on the sender thread.

Common Python types serialise natively: datetime (UTC, ISO 8601; a naive one is taken as UTC), date,
time, Decimal, UUID, Enum, set/frozenset, dataclasses, pydantic models, bytes. Anything else becomes
str(obj): an event is never refused for its types. orjson is used when installed (about 5x faster),
json otherwise. Nothing here is imported until the first batch is sent.
"""

from __future__ import annotations

import datetime as dt
import math
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

UTC = dt.timezone.utc


def _default(obj: Any) -> Any:
    if isinstance(obj, dt.datetime):
        if obj.tzinfo is None:
            obj = obj.replace(tzinfo=UTC)
        return obj.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(obj, (dt.date, dt.time)):
        return obj.isoformat()
    if isinstance(obj, (set, frozenset)):
        try:
            return sorted(obj)
        except TypeError:
            return list(obj)
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return bytes(obj).decode("utf-8", "replace")
    # An object of these types means its module is loaded already: look it up rather than import it.
    decimal, uuid, enum, dataclasses = (sys.modules.get(m) for m in ("decimal", "uuid", "enum", "dataclasses"))
    if decimal is not None and isinstance(obj, decimal.Decimal):
        number = float(obj)
        return number if math.isfinite(number) else str(obj)
    if uuid is not None and isinstance(obj, uuid.UUID):
        return str(obj)
    if enum is not None and isinstance(obj, enum.Enum):
        return obj.value
    if dataclasses is not None and dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    dump = getattr(obj, "model_dump", None)  # pydantic 2
    if callable(dump):
        return dump(mode="json")
    return str(obj)


def _plain(obj: Any, depth: int) -> Any:
    """Plain JSON data, whatever came in: for what the fast path refused (NaN, odd keys, deep nesting)."""
    if depth > 20:
        return str(obj)
    if isinstance(obj, dict):
        return {str(k): _plain(v, depth + 1) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v, depth + 1) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    return _plain(_default(obj), depth + 1)


def _make_encoder() -> tuple[Callable[[Any], bytes], str]:
    import json

    # One encoder, made once: json.dumps with options builds a new one on every call.
    to_text = json.JSONEncoder(default=_default, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode

    def with_json(obj: Any) -> bytes:
        return to_text(obj).encode()

    fast: Callable[[Any], bytes] = with_json
    name = "json"
    try:
        import orjson

        options = orjson.OPT_NON_STR_KEYS | orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC

        def with_orjson(obj: Any) -> bytes:
            return orjson.dumps(obj, default=_default, option=options)

        fast, name = with_orjson, "orjson"
    except ImportError:
        pass

    def encode(obj: Any) -> bytes:
        try:
            return fast(obj)
        except (TypeError, ValueError, OverflowError, RecursionError):
            return json.dumps(_plain(obj, 0), separators=(",", ":"), ensure_ascii=False).encode()

    return encode, name


_encoder: tuple[Callable[[Any], bytes], str] | None = None


def encoder() -> tuple[Callable[[Any], bytes], str]:
    """(encode, its name), made on first use."""
    global _encoder  # noqa: PLW0603 - a cache of an immutable function, made once
    if _encoder is None:
        _encoder = _make_encoder()
    return _encoder
