"""The overview page: traffic basics for a range beside the previous period, the time series, the
breakdowns; every row a filter for the whole page."""

from datetime import date

from collector.dashboard.pages import View
from collector.sites import Site
from collector.storage.store import Store


def overview(store: Store, site: Site, query: dict[str, str], today: date) -> View:
    return View(template="overview.html", context={"panels": None})
