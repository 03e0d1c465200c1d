"""The SDK's exceptions, and the words for what went wrong with a batch.

FootfallError        raised into the application only with strict=True (tests); never otherwise
└── DeliveryError    handed to Callbacks(on_error=...) when a batch is given up
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from footfall._transport import Answer

READ_KEY = "this is a read key (ffr_...); the SDK needs the site's write key (ffw_...)"


class FootfallError(Exception):
    """Raised into the application only with strict=True (tests); never otherwise."""


class DeliveryError(FootfallError):
    """A batch given up: the collector refused it (not retried), or it could not be delivered within
    the retry budget or before shutdown. `status` is the HTTP status (0: no answer), `code` the
    collector's error code ("unreachable" without one), `events` how many, and `outcome` what became
    of them: "dropped", or "spooled" (on disk, sent when the collector answers)."""

    def __init__(self, message: str, *, status: int, code: str, detail: str, events: int, outcome: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.detail = detail
        self.events = events
        self.outcome = outcome


def read_key_given(write_key: str) -> DeliveryError | None:
    """The client was given a read key as its write key (caught by the prefix, as the collector does)."""
    if not write_key.startswith("ffr_"):
        return None
    return DeliveryError(
        f"{READ_KEY}; events are dropped, not sent",
        status=0,
        code="read_key_as_write_key",
        detail=READ_KEY,
        events=0,
        outcome="dropped",
    )


def refused(answer: Answer, events: int) -> DeliveryError:
    """The collector said no to a whole batch (4xx but 408 and 429): sending it again cannot help."""
    code, detail = answer.code_and_detail()
    if code == "read_key_as_write_key":
        why = READ_KEY
    elif answer.status == 401:
        why = f"the collector does not know this write key (HTTP 401 {code}: {detail})"
    else:
        why = f"the collector refused the batch (HTTP {answer.status} {code or 'error'}: {detail})"
    return DeliveryError(
        f"{why}; {events} events dropped, not retried",
        status=answer.status,
        code=code,
        detail=detail,
        events=events,
        outcome="dropped",
    )


def gave_up(host: str, answer: Answer, events: int, *, budget_s: float, spooled: bool, stopping: bool) -> DeliveryError:
    """Network errors, timeouts, 408, 429 or 5xx until the retry budget ran out (or shutdown came)."""
    code, detail = answer.code_and_detail()
    when = "before shutdown" if stopping else f"within the retry budget ({budget_s:g} s)"
    fate = "spooled to disk, to be sent when it answers" if spooled else "dropped"
    return DeliveryError(
        f"the collector at {host} did not take a batch {when}; last: {detail}; {events} events {fate}",
        status=answer.status,
        code=code or ("unreachable" if answer.status == 0 else f"http_{answer.status}"),
        detail=detail,
        events=events,
        outcome="spooled" if spooled else "dropped",
    )
