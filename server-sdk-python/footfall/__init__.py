"""footfall for Python backends: `Client(write_key).track("signup", {"plan": "pro"}, user_id="u42")`."""

__version__ = "0.1.0"

from footfall._client import Client, FlushResult, FootfallError
from footfall._config import Batching, Callbacks, Consent, Masking, QueueLimit, Retry, Spool, Stats

__all__ = [
    "Batching",
    "Callbacks",
    "Client",
    "Consent",
    "FlushResult",
    "FootfallError",
    "Masking",
    "QueueLimit",
    "Retry",
    "Spool",
    "Stats",
    "__version__",
]
