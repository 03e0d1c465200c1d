"""Live events: the last events as they arrive and what was dropped and why, polled as JSON."""

from datetime import date

from starlette.requests import Request
from starlette.responses import Response

from collector.dashboard import auth
from collector.dashboard.pages import View
from collector.dashboard.web import json
from collector.sites import Site
from collector.storage.store import Store


def live(store: Store, site: Site, query: dict[str, str], today: date) -> View:
    return View(template="live.html", context={"live": None})


async def live_json(request: Request) -> Response:
    who = await auth.viewer(request)
    if who is None:
        return json({"error": "session_ended", "detail": "log in again"}, status=401)
    auth.site_for(request, who)
    answer: dict[str, object] = {}
    return json(answer)
