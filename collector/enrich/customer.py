"""What the collector keeps of a person at intake (an enrichment step calls these): traits as sent, but
for secrets, card numbers and the site's redacted or hashed keys; orders under the names every rollup
reads (`revenue`, `currency`), whatever the site's events call them."""

import contextlib
import functools
import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from collector.privacy import DEFAULT_DENY_KEYS, name_set, scrub_cards, scrub_properties
from collector.sites import PeopleSettings

REDACTED: Final = "[redacted]"
# A phone number is a trait a CRM needs; passwords, tokens, card and bank numbers never are.
TRAIT_DENY_KEYS: Final = DEFAULT_DENY_KEYS - {"phone"}
REVENUE: Final = "revenue"
CURRENCY: Final = "currency"


@dataclass(frozen=True, slots=True)
class TraitPolicy:
    deny: frozenset[str]
    redact: frozenset[str]
    hashed: frozenset[str]


@functools.lru_cache(maxsize=1024)
def trait_policy(people: PeopleSettings, deny_keys: tuple[str, ...]) -> TraitPolicy:
    return TraitPolicy(
        deny=TRAIT_DENY_KEYS | name_set(deny_keys),
        redact=name_set(people.redact_traits),
        hashed=name_set(people.hash_traits),
    )


def keep_traits(traits: Mapping[str, Any], policy: TraitPolicy) -> dict[str, Any]:
    """Traits as stored: secrets dropped (any depth), card numbers out of text, and the site's chosen
    top-level keys redacted or hashed. E-mail addresses and phone numbers stay: who the person is."""
    kept = scrub_properties(traits, deny_keys=policy.deny, text=scrub_cards)
    for key, value in kept.items():
        lower = key.lower()
        if lower in policy.redact:
            kept[key] = REDACTED
        elif lower in policy.hashed and value is not None:
            kept[key] = hash_trait(value)
    return kept


def hash_trait(value: Any) -> str:
    """The form ad platforms match on: SHA-256 of the trimmed, lower-case text."""
    text = value if isinstance(value, str) else str(value)
    return "sha256:" + hashlib.sha256(text.strip().lower().encode()).hexdigest()


def put_order(properties: dict[str, Any], people: PeopleSettings) -> None:
    """An order's amount and currency under `revenue` / `currency`, in place: a numeric string becomes a
    number, a currency is upper-cased, the site's default fills a missing one. An amount that is not a
    finite number makes no order: it is kept as `revenue_unparsed` (the rollups count every `revenue`)."""
    if people.revenue_property not in properties:
        if people.revenue_property != REVENUE and REVENUE in properties:
            properties["revenue_unparsed"] = properties.pop(REVENUE)  # only the site's own name makes an order
        return
    amount = properties[people.revenue_property]
    if isinstance(amount, str):
        with contextlib.suppress(ValueError):  # a text that is no number stays one, and is refused below
            amount = float(amount.strip())
    if isinstance(amount, bool) or not isinstance(amount, int | float) or not math.isfinite(amount):
        if REVENUE in properties:
            properties["revenue_unparsed"] = properties.pop(REVENUE)
        return
    properties[REVENUE] = amount
    currency = properties.get(people.currency_property)
    if isinstance(currency, str) and currency.strip():
        properties[CURRENCY] = currency.strip().upper()[:16]
    elif people.default_currency:
        properties[CURRENCY] = people.default_currency
