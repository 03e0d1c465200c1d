"""footfall's collector: ingest, store and query product-analytics events on ClickHouse."""

__version__ = "0.1.1"

from collector.server.app import create_app
from collector.settings import Batching, Limits, Settings

__all__ = ["Batching", "Limits", "Settings", "__version__", "create_app"]
