"""Masking before an event leaves the process (on the sender thread).

Two passes, each as cheap as it can be: a structural one over properties/traits (denied keys dropped at
any depth, allow-list, salted hashes of chosen keys) that only descends into containers; then the
redaction of e-mails, card numbers and phone numbers over the event's serialised JSON in a few
regex passes at C speed, instead of a Python call per string. Replacements keep the JSON valid: a card
number stored as a bare JSON number becomes the string "[card]". Nothing is compiled at import.
"""

from __future__ import annotations

from footfall._config import Masking

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re
    from typing import Any


class Masker:
    def __init__(self, masking: Masking) -> None:
        self._deny = frozenset(k.lower() for k in masking.deny_keys)
        self._allow = frozenset(masking.allow_keys) if masking.allow_keys is not None else None
        self._hash = frozenset(masking.hash_keys)
        self._salt = masking.hash_salt.encode()
        self._redact = masking.redact
        self._redact_traits = masking.redact_traits
        self._extra = tuple(masking.extra_patterns)
        self._structural = bool(self._deny or self._allow is not None or self._hash)
        self._patterns: tuple[re.Pattern[bytes], ...] | None = None

    # -- structure -------------------------------------------------------------------------------

    def mask(self, props: dict[str, Any]) -> dict[str, Any]:
        if not self._structural:
            return props
        if self._allow is not None:
            props = {k: v for k, v in props.items() if k in self._allow}
        masked: dict[str, Any] = self._walk(props, 0)
        return masked

    def _walk(self, value: Any, depth: int) -> Any:
        if depth > 10:
            return value
        if isinstance(value, dict):
            if not self._touches(value):
                return value  # nothing to drop or hash here or below: no copy
            out = {}
            for key, item in value.items():
                if self._deny and str(key).lower() in self._deny:
                    continue
                if self._hash and key in self._hash and item is not None:
                    import hashlib

                    out[key] = hashlib.sha256(self._salt + str(item).encode()).hexdigest()
                elif isinstance(item, (dict, list, tuple)):
                    out[key] = self._walk(item, depth + 1)
                else:
                    out[key] = item
            return out
        if isinstance(value, (list, tuple)):
            return [self._walk(item, depth + 1) if isinstance(item, (dict, list, tuple)) else item for item in value]
        return value

    def _touches(self, value: dict[Any, Any]) -> bool:
        for key, item in value.items():
            if (self._deny and str(key).lower() in self._deny) or (self._hash and key in self._hash):
                return True
            if isinstance(item, dict) and self._touches(item):
                return True
            if isinstance(item, (list, tuple)) and any(isinstance(i, dict) and self._touches(i) for i in item):
                return True
        return False

    # -- text ------------------------------------------------------------------------------------

    def redact(self, data: bytes, *, traits: bool = False) -> bytes:
        """E-mails, card numbers and phone numbers out of serialised properties (of traits, card numbers
        only, unless `redact_traits`); each pattern runs only if a C-speed look says it may match (an "@";
        13 digits for a card; a "+" for a phone)."""
        if self._redact:
            email, card_text, card_number, phone, run = self._compiled()
            contacts = not traits or self._redact_traits
            if contacts and b"@" in data:
                data = email.sub(b"[email]", data)
            if run.search(data):  # 13 digits in a row (with spaces or dashes): a card may be there
                data = card_number.sub(_card_number, data)
                data = card_text.sub(_card_text, data)
            if contacts and b"+" in data:
                data = phone.sub(b"[phone]", data)
        if self._extra:
            text = data.decode()
            for pattern in self._extra:
                text = pattern.sub("[redacted]", text)
            data = text.encode()
        return data

    def _compiled(self) -> tuple[re.Pattern[bytes], ...]:
        if self._patterns is None:
            import re

            self._patterns = (
                re.compile(rb"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"),
                re.compile(rb"(?<![\d.])\d[\d -]{11,30}\d(?![\d.])"),  # one class, no nested repeat
                re.compile(rb"(?<=[:,\[])-?\d{13,19}(?=[,\]}])"),  # a bare JSON number
                re.compile(rb"\+\d[\d ().-]{7,18}\d"),
                re.compile(rb"\d[\d -]{11}\d"),
            )
        return self._patterns


def _card_text(match: re.Match[bytes]) -> bytes:
    return b"[card]" if _is_card(match.group()) else match.group()


def _card_number(match: re.Match[bytes]) -> bytes:
    return b'"[card]"' if _is_card(match.group()) else match.group()


def _is_card(found: bytes) -> bool:
    digits = [c - 48 for c in found if 48 <= c <= 57]
    if not 13 <= len(digits) <= 19:
        return False
    total, odd = 0, False
    for digit in reversed(digits):
        total += (digit * 2 - 9 if digit > 4 else digit * 2) if odd else digit
        odd = not odd
    return total % 10 == 0
