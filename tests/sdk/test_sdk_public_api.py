"""The SDK's public surface, pinned: changing it is a decision, not an accident."""

import inspect

import footfall

EXPECTED = {
    "Client.__init__": "(self, write_key: 'str', *, host: 'str' = 'http://localhost:8000', batching: 'Batching' = "
    "Batching(gzip=True, interval_s=1.0, max_bytes=524288, max_events=100), retry: 'Retry' = Retry(base_s=0.5, "
    "budget_s=600.0, cap_s=30.0, timeout_s=10.0), queue: 'QueueLimit' = QueueLimit(block_timeout_s=0.5, "
    "max_bytes=8388608, policy='block'), masking: 'Masking' = Masking(allow_keys=None, deny_keys=('password', "
    "'passwd', 'secret', 'token', 'access_token', 'api_key', 'authorization'), extra_patterns=(), hash_keys=(), "
    "hash_salt='', redact=True, redact_traits=False), consent: 'ConsentLike' = None, callbacks: 'Callbacks' = "
    "Callbacks(before_send=None, "
    "on_drop=None, on_error=None), spool: 'Spool | None' = None, senders: 'int' = 2, sync_mode: 'bool' = False, "
    "strict: 'bool' = False, send: 'bool' = True, exit_timeout_s: 'float' = 2.0) -> 'None'",
    "Client.track": "(self, event: 'str', properties: 'Mapping[str, Any] | None' = None, *, user_id: "
    "'str | None' = None, anonymous_id: 'str | None' = None, timestamp: 'Any' = None, context: "
    "'Mapping[str, Any] | None' = None, consent: 'ConsentLike' = None) -> 'None'",
    # 0.1.0 + `traits_once` and `unset` (keyword-only, with defaults: old callers unchanged)
    "Client.identify": "(self, user_id: 'str', traits: 'Mapping[str, Any] | None' = None, *, traits_once: "
    "'Mapping[str, Any] | None' = None, unset: 'Sequence[str] | None' = None, anonymous_id: 'str | None' = None, "
    "timestamp: 'Any' = None, context: 'Mapping[str, Any] | None' = None, consent: 'ConsentLike' = None) -> 'None'",
    "Client.flush": "(self, timeout: 'float' = 10.0) -> 'FlushResult'",
    "Client.shutdown": "(self, timeout: 'float' = 10.0) -> 'FlushResult'",
    "Client.stats": "(self) -> 'Stats'",
    # 0.1.0 + `rejected`, by the collector's reason (added with a default: old callers unchanged)
    "FlushResult.__init__": "(self, sent: 'int', pending: 'int', dropped: 'int', rejected: "
    "'Mapping[str, int] | None' = None) -> 'None'",
    "DeliveryError.__init__": "(self, message: 'str', *, status: 'int', code: 'str', detail: 'str', events: 'int', "
    "outcome: 'str') -> 'None'",
}


def test_exported_names() -> None:
    assert footfall.__all__ == [
        "Batching",
        "Callbacks",
        "Client",
        "Consent",
        "DeliveryError",
        "FlushResult",
        "FootfallError",
        "Masking",
        "QueueLimit",
        "Retry",
        "Spool",
        "Stats",
        "__version__",
    ]
    assert all(hasattr(footfall, name) for name in footfall.__all__)


def test_signatures() -> None:
    for name, signature in EXPECTED.items():
        cls, method = name.split(".")
        assert str(inspect.signature(getattr(getattr(footfall, cls), method))) == signature, name


def test_stats_fields() -> None:
    assert sorted(footfall.Stats().__slots__) == [
        "dropped",
        "in_flight",
        "last_error",
        "last_success_at",
        "mode",
        "queued",
        "queued_bytes",
        "rejected",  # added after 0.1.0
        "retries",
        "sent",
        "spooled",
    ]
    assert issubclass(footfall.DeliveryError, footfall.FootfallError)


def test_verbs() -> None:
    public = sorted(n for n in vars(footfall.Client) if not n.startswith("_"))
    assert public == ["alias", "flush", "group", "identify", "page", "shutdown", "stats", "track"]
