"""The traffic reports' wire types (collector/reports/traffic.py): the query string they take and the
JSON they answer, both msgspec Structs so /api/v1/openapi.json documents parameters and responses."""

from typing import Annotated, Final, Literal, get_args

import msgspec
from msgspec import Meta

from collector.reports.api import Range

Dimension = Literal[
    "page",
    "entry_page",
    "exit_page",
    "referrer",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "country",
    "device",
    "browser",
    "os",
]
DIMENSIONS: Final[tuple[str, ...]] = get_args(Dimension)
SESSION_DIMENSIONS: Final = DIMENSIONS[1:]  # one value per session: from its first event, or entry / exit
FILTERS: Final = (*DIMENSIONS, "event")
DIRECT: Final = "(direct)"  # the referrer filter's name for '' (no referrer, or the site's own host)
PAGE_FILTERS: Final = ("page", "entry_page", "exit_page")  # a URL is turned into its page key
MAX_HOURLY_DAYS: Final = 31

_Text = Annotated[str, Meta(max_length=500)]
_Page = Annotated[str, Meta(max_length=4096)]


class Filtered(Range, kw_only=True):
    """Filters keep whole sessions (docs/api.md#filters); '' is no filter."""

    page: Annotated[_Page, Meta(description="sessions that viewed this page (a page key or a URL)")] = ""
    entry_page: Annotated[_Page, Meta(description="sessions that began on this page")] = ""
    exit_page: Annotated[_Page, Meta(description="sessions that ended on this page")] = ""
    referrer: Annotated[_Text, Meta(description=f"the referrer's host; `{DIRECT}`: none")] = ""
    utm_source: _Text = ""
    utm_medium: _Text = ""
    utm_campaign: _Text = ""
    country: Annotated[str, Meta(max_length=64)] = ""
    device: Annotated[str, Meta(max_length=64)] = ""
    browser: Annotated[str, Meta(max_length=64)] = ""
    os: Annotated[str, Meta(max_length=64)] = ""
    event: Annotated[str, Meta(max_length=200, description="sessions with this event ($pageview, signup, ...)")] = ""


class OverviewQuery(Filtered, kw_only=True):
    pass


Interval = Literal["hour", "day", "week"]


class TimeseriesQuery(Filtered, kw_only=True):
    interval: Annotated[Interval, Meta(description=f"hour: ranges of up to {MAX_HOURLY_DAYS} days")] = "day"


class BreakdownQuery(Filtered, kw_only=True):
    by: Dimension
    limit: Annotated[int, Meta(ge=1, le=1000)] = 100
    offset: Annotated[int, Meta(ge=0, le=100_000)] = 0
    format: Literal["json", "csv"] = "json"


class EventNamesQuery(Filtered, kw_only=True):
    limit: Annotated[int, Meta(ge=1, le=1000)] = 100


class RevenueQuery(Filtered, kw_only=True):
    pass


class PanelsQuery(Filtered, kw_only=True):
    interval: Interval = "day"


# -- answers ------------------------------------------------------------------------------------


class Answer(msgspec.Struct, kw_only=True):
    pass


class Days(Answer, kw_only=True):
    since: str
    until: str


class Money(Answer, kw_only=True):
    currency: str
    revenue: float
    orders: int


class Totals(Answer, kw_only=True):
    visitors: int
    pageviews: int
    sessions: int
    bounce_rate: float
    visit_duration_s: float
    events: int
    revenue: list[Money]


class SessionCoverage(Answer, kw_only=True):
    sessions: int
    events: int


class Overview(Answer, kw_only=True):
    range: Days
    previous_range: Days
    filters: dict[str, str]
    coverage: SessionCoverage
    current: Totals
    previous: Totals


class Point(Answer, kw_only=True):
    bucket: str
    visitors: int
    pageviews: int
    sessions: int
    events: int
    bounce_rate: float
    visit_duration_s: float


class Timeseries(Answer, kw_only=True):
    interval: Interval
    range: Days
    filters: dict[str, str]
    coverage: SessionCoverage
    points: list[Point]


class Row(Answer, kw_only=True):
    value: str
    visitors: int
    sessions: int
    pageviews: int
    bounce_rate: float
    visit_duration_s: float
    share: float


class VisitorCoverage(Answer, kw_only=True):
    visitors: int
    sessions: int


class Breakdown(Answer, kw_only=True):
    by: Dimension
    range: Days
    filters: dict[str, str]
    coverage: VisitorCoverage
    limit: int
    offset: int
    rows: list[Row]


class EventName(Answer, kw_only=True):
    name: str
    events: int
    visitors: int


class EventCoverage(Answer, kw_only=True):
    events: int


class EventNames(Answer, kw_only=True):
    range: Days
    filters: dict[str, str]
    coverage: EventCoverage
    limit: int
    events: list[EventName]


class CurrencyRevenue(Answer, kw_only=True):
    currency: str
    revenue: float
    orders: int
    visitors: int


class OrderCoverage(Answer, kw_only=True):
    orders: int


class Revenue(Answer, kw_only=True):
    range: Days
    filters: dict[str, str]
    coverage: OrderCoverage
    currencies: list[CurrencyRevenue]


class Panels(Answer, kw_only=True):
    overview: Overview
    timeseries: Timeseries
    breakdowns: dict[str, Breakdown]
    event_names: EventNames
    revenue: Revenue
