"""Masking in the SDK: structure and redaction, and the JSON stays JSON."""

import json
from typing import Any

from footfall._config import Masking
from footfall._encode import encoder
from footfall._mask import Masker
from hypothesis import given, settings
from hypothesis import strategies as st

encode = encoder()[0]
MASKER = Masker(Masking(hash_keys=("email",), hash_salt="salt"))


def masked(props: dict[str, Any]) -> Any:
    return json.loads(MASKER.redact(encode(MASKER.mask(props))))


def test_denied_keys_go_at_any_depth_and_hashed_keys_still_join() -> None:
    out = masked({"Password": "x", "a": {"token": "t", "b": [{"secret": 1, "ok": 2}]}, "email": "ann@example.org"})
    assert out["a"] == {"b": [{"ok": 2}]}
    assert "Password" not in out
    assert out["email"] == masked({"email": "ann@example.org"})["email"] != "ann@example.org"


def test_emails_cards_and_phones_are_redacted_wherever_they_are() -> None:
    out = masked(
        {
            "note": "mail ann@example.org or call +44 20 7946 0958",
            "cards": ["4111 1111 1111 1111", "4111-1111-1111-1111", 4111111111111111, -4111111111111111],
            "not_cards": ["4111 1111 1111 1112", 1234567890123456, "2026-11-22 10:00:00", 19.99],
        }
    )
    assert out["note"] == "mail [email] or call [phone]"
    assert out["cards"] == ["[card]", "[card]", "[card]", "[card]"]
    assert out["not_cards"] == ["4111 1111 1111 1112", 1234567890123456, "2026-11-22 10:00:00", 19.99]


def test_traits_keep_who_the_user_is_but_never_a_card_number() -> None:
    traits = {"email": "jo@example.com", "phone": "+44 20 7946 0958", "card": "4111 1111 1111 1111", "password": "x"}
    kept = json.loads(MASKER.redact(encode(Masker(Masking()).mask(traits)), traits=True))
    assert kept == {"email": "jo@example.com", "phone": "+44 20 7946 0958", "card": "[card]"}
    strict = Masker(Masking(redact_traits=True))
    assert json.loads(strict.redact(encode(traits), traits=True))["email"] == "[email]"


def test_allow_keys_keep_only_what_is_listed() -> None:
    masker = Masker(Masking(allow_keys=("plan",), redact=False))
    assert masker.mask({"plan": "pro", "email": "x"}) == {"plan": "pro"}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text(max_size=10), json_values, max_size=6))
@settings(max_examples=300, deadline=None)
def test_redaction_always_leaves_valid_json(props: dict[str, Any]) -> None:
    assert isinstance(masked(props), dict)
