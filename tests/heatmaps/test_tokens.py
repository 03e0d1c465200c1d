"""Live overlay tokens: genuine, for one site, until they expire; anything else is refused."""

from collector.accounts.sessions import Signer
from collector.heatmaps import tokens

NOW = 1_800_000_000_000
SIGNER = Signer(b"k" * 32)


def test_a_token_names_its_site_until_it_expires() -> None:
    token = tokens.mint(SIGNER, 7, NOW)
    assert token.startswith("ffo_7.")
    assert tokens.check(SIGNER, token, NOW) == tokens.OverlayToken(site_id=7, expires_ms=NOW + tokens.TOKEN_MS)
    assert tokens.check(SIGNER, token, NOW + tokens.TOKEN_MS - 1) is not None
    assert tokens.check(SIGNER, token, NOW + tokens.TOKEN_MS) is None


def test_a_changed_site_expiry_or_key_is_refused() -> None:
    token = tokens.mint(SIGNER, 7, NOW)
    site, expiry, mac = token.removeprefix("ffo_").split(".")
    assert tokens.check(SIGNER, f"ffo_8.{expiry}.{mac}", NOW) is None
    assert tokens.check(SIGNER, f"ffo_{site}.{int(expiry) + 1}.{mac}", NOW) is None
    assert tokens.check(Signer(b"o" * 32), token, NOW) is None
    for garbage in ("", "ffo_", "ffo_7", "ffo_a.b.c", "ffr_whatever", token + "x", "ffo_7.1.2.3"):
        assert tokens.check(SIGNER, garbage, NOW) is None
