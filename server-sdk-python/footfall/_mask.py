"""Masking that runs before an event is serialised (on the sender thread): denied keys, redaction,
salted hashes. Regular expressions are compiled on first use, not at import."""

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
        self._extra = tuple(masking.extra_patterns)
        self._patterns: tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str], re.Pattern[str]] | None = None

    def mask(self, props: dict[str, Any]) -> dict[str, Any]:
        if self._allow is not None:
            props = {k: v for k, v in props.items() if k in self._allow}
        masked: dict[str, Any] = self._walk(props, 0)
        return masked

    def _walk(self, value: Any, depth: int) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if depth > 10:
            return value
        if isinstance(value, dict):
            out = {}
            deny, hashed = self._deny, self._hash
            for key, item in value.items():
                if deny and str(key).lower() in deny:
                    continue
                if type(item) is str:  # the common case, without a call
                    out[key] = self.text(item) if self._worth_a_look(item) else item
                elif hashed and key in hashed and item is not None:
                    import hashlib

                    out[key] = hashlib.sha256(self._salt + str(item).encode()).hexdigest()
                elif isinstance(item, (dict, list, tuple)):
                    out[key] = self._walk(item, depth + 1)
                else:
                    out[key] = item
            for key in hashed & out.keys():
                if type(out[key]) is str and key in value:
                    import hashlib

                    out[key] = hashlib.sha256(self._salt + str(value[key]).encode()).hexdigest()
            return out
        if isinstance(value, (list, tuple)):
            return [self._walk(item, depth + 1) for item in value]
        return value

    def _worth_a_look(self, text: str) -> bool:
        """An e-mail needs an @, a phone 9+ characters with a +, a card 13+ characters: most values have none."""
        if self._extra:
            return True
        return self._redact and ("@" in text or (len(text) >= 9 and ("+" in text or len(text) >= 13)))

    def text(self, text: str) -> str:
        if self._redact:
            email, card, phone, digit = self._compiled()
            if "@" in text:
                text = email.sub("[email]", text)
            if digit.search(text):
                text = card.sub(_card, text)
                if "+" in text:
                    text = phone.sub("[phone]", text)
        for pattern in self._extra:
            text = pattern.sub("[redacted]", text)
        return text

    def _compiled(self) -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
        if self._patterns is None:
            import re

            self._patterns = (
                re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"),
                re.compile(r"\b(?:\d[ -]?){12,18}\d\b"),
                re.compile(r"\+\d[\d ().-]{7,18}\d"),
                re.compile(r"\d"),
            )
        return self._patterns


def _card(match: re.Match[str]) -> str:
    digits = "".join(c for c in match.group() if c.isdigit())
    return "[card]" if 13 <= len(digits) <= 19 and _luhn(digits) else match.group()


def _luhn(digits: str) -> bool:
    total, odd = 0, False
    for char in reversed(digits):
        n = ord(char) - 48
        if odd:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
        odd = not odd
    return total % 10 == 0
