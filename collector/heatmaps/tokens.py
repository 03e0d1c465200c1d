"""Live overlay tokens: what "open on my site" puts in the page's URL fragment.

`ffo_<site id>.<expiry ms>.<signature>`, signed with the store's shared secret, so every collector on the
store accepts it and nothing needs storing. It reads one site's heatmap layers and nothing else, for
TOKEN_MS; the fragment never reaches the site's server, and the snippet removes it from the address bar.
"""

from typing import Final

import msgspec

from collector.accounts.sessions import Signer

PREFIX: Final = "ffo_"
TOKEN_MS: Final = 30 * 60_000
_PURPOSE: Final = "overlay"


class OverlayToken(msgspec.Struct, frozen=True):
    site_id: int
    expires_ms: int


def mint(signer: Signer, site_id: int, now_ms: int, *, lifetime_ms: int = TOKEN_MS) -> str:
    expires = now_ms + lifetime_ms
    return PREFIX + signer.sign(f"{_PURPOSE}.{site_id}.{expires}").removeprefix(f"{_PURPOSE}.")


def check(signer: Signer, token: str, now_ms: int) -> OverlayToken | None:
    """The token's site and expiry if it is genuine and not expired, else None."""
    if not token.startswith(PREFIX):
        return None
    value = signer.unsign(f"{_PURPOSE}.{token.removeprefix(PREFIX)}")
    if value is None:
        return None
    parts = value.split(".")
    if len(parts) != 3 or not (parts[1].isdigit() and parts[2].isdigit()) or int(parts[2]) <= now_ms:
        return None
    return OverlayToken(site_id=int(parts[1]), expires_ms=int(parts[2]))
