"""The one redactor: credential headers, the secrets a request sends, and masking them anywhere."""

from __future__ import annotations

import pytest

from arize_skills.foundation.redact import (
    CREDENTIAL_HEADER,
    MASK,
    is_credential_header,
    redact,
    redact_patterns,
    secrets_of,
)


@pytest.mark.parametrize(
    "name",
    [
        "Authorization",
        "x-api-key",
        "X-Auth-Token",
        "client_secret",
        "Cookie",
        "X-Session-Id",
        "x-amz-signature",
        "password",
        "Proxy-Credentials",
    ],
)
def test_credential_headers_are_recognised_whatever_their_case(name: str) -> None:
    assert is_credential_header(name)
    assert is_credential_header(name.upper())
    assert CREDENTIAL_HEADER.search(name.lower())


@pytest.mark.parametrize("name", ["Content-Type", "Accept", "User-Agent", "anthropic-version", "x-request-id"])
def test_other_headers_are_not_credentials(name: str) -> None:
    assert not is_credential_header(name)


def test_secrets_of_takes_the_key_and_credential_header_values_with_their_token_longest_first() -> None:
    found = secrets_of("sk-main-key", {"Authorization": "Bearer tok-12345", "Accept": "application/json"})
    assert found == ["Bearer tok-12345", "sk-main-key", "tok-12345"]


def test_secrets_of_leaves_out_short_and_empty_values() -> None:
    assert secrets_of("abc", {"x-api-key": "", "X-Token": "Bearer xy"}) == ["Bearer xy"]
    assert secrets_of(None, None) == []


def test_redact_masks_every_secret_in_text() -> None:
    assert redact("key sk-1234 and tok-5678", ["sk-1234", "tok-5678"]) == f"key {MASK} and {MASK}"


def test_redact_masks_a_secret_holding_another_whole() -> None:
    assert redact("sent Bearer abcd1234", ["abcd", "Bearer abcd1234"]) == f"sent {MASK}"


def test_redact_walks_dicts_lists_and_tuples_and_leaves_other_values_alone() -> None:
    value = {"detail": "bad key s3cret!", "items": ["s3cret!", 3, None], "pair": ("x", "s3cret!"), "n": 1.5}
    assert redact(value, ["s3cret!"]) == {
        "detail": f"bad key {MASK}",
        "items": [MASK, 3, None],
        "pair": ("x", MASK),
        "n": 1.5,
    }


def test_redact_ignores_secrets_too_short_to_mean_anything() -> None:
    assert redact("a b abc", ["a", "abc", ""]) == "a b abc"


def test_redact_takes_a_mask() -> None:
    assert redact("token s3cret!", ["s3cret!"], mask="***") == "token ***"


def test_redact_patterns_masks_credential_shaped_text_and_keeps_the_label() -> None:
    assert redact_patterns("sent Authorization: Bearer abc.def-123 to x") == f"sent Authorization: {MASK} to x"
    assert redact_patterns("header bearer tok_12345678 was refused") == f"header bearer {MASK} was refused"
    assert redact_patterns("api_key=sk-live-abcdefgh1234, rest") == f"api_key={MASK}, rest"
    assert redact_patterns("password: 'hunter22'") == f"password: '{MASK}'"
    assert redact_patterns("openai said sk-proj-abcdefghijkl is wrong") == f"openai said {MASK} is wrong"


def test_redact_patterns_leaves_plain_text_alone() -> None:
    text = "dataset 'bearer' not found; the token budget is 4000"
    assert redact_patterns(text) == text
