"""footfall for Python backends: `Client(write_key).track("signup", {"plan": "pro"}, user_id="u42")`."""

__version__ = "0.1.0"

from footfall._client import Client, FlushResult
from footfall._config import Batching, Callbacks, Consent, Masking, QueueLimit, Retry, Spool, Stats
from footfall._errors import DeliveryError, FootfallError

__all__ = [
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
