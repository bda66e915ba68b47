"""Bearer tokens: the quick check of issued tokens accepts exactly what PyJWT accepts, and no more."""
import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.http.auth import issue_token, issued_claims, verified_claims

SECRET = "token-secret-" + "y" * 40


def pyjwt_claims(token: str, secret: str = SECRET) -> dict | None:
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["sub", "exp"]})
    except jwt.PyJWTError:
        return None
    return claims


def segment(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_tokens_as_issued_take_the_quick_check_and_agree_with_pyjwt():
    for token in (issue_token(SECRET, "m-1"), issue_token(SECRET, "ops", role="staff"),
                  issue_token(SECRET, "m-2", nickname="小鹿 🦌")):
        quick = issued_claims(SECRET, token)
        assert quick is not None and quick == pyjwt_claims(token)


def test_the_quick_check_leaves_to_pyjwt_what_it_does_not_recognise():
    now = int(time.time())
    refused_by_both = [
        issue_token("another-secret-" + "z" * 40, "m-1"),
        jwt.encode({"sub": "m-1", "exp": now - 1}, SECRET, algorithm="HS256"),
        jwt.encode({"sub": "m-1", "exp": now + 60, "iat": now + 3600}, SECRET, algorithm="HS256"),
        jwt.encode({"sub": "m-1"}, SECRET, algorithm="HS256"),
        jwt.encode({"sub": "m-1", "exp": now + 60}, SECRET, algorithm="HS384"),
        jwt.encode({"sub": "m-1", "exp": now + 60}, None, algorithm="none"),
    ]
    for token in refused_by_both:
        assert issued_claims(SECRET, token) is None and pyjwt_claims(token) is None, token
    # Valid for PyJWT, but not in the issued shape: PyJWT decides, so the server still accepts them.
    other_shapes = [
        jwt.encode({"sub": "m-1", "exp": now + 60, "aud": "x"}, SECRET, algorithm="HS256", headers={"kid": "k1"}),
        jwt.encode({"sub": "m-1", "exp": now + 60.5}, SECRET, algorithm="HS256"),
        jwt.encode({"sub": "m-1", "exp": now + 60, "jti": "j"}, SECRET, algorithm="HS256"),
        jwt.encode({"sub": "m-1", "exp": now + 60, "nbf": now}, SECRET, algorithm="HS256"),
    ]
    for token in other_shapes:
        assert issued_claims(SECRET, token) is None
    assert verified_claims(SECRET, other_shapes[1])["sub"] == "m-1"
    with pytest.raises(jwt.PyJWTError):
        verified_claims(SECRET, other_shapes[0])  # an audience nobody asked for


def signed(payload: bytes, header: bytes = b'{"alg":"HS256","typ":"JWT"}', secret: str = SECRET) -> str:
    head_and_payload = f"{segment(header)}.{segment(payload)}"
    return f"{head_and_payload}.{segment(hmac.digest(secret.encode(), head_and_payload.encode(), hashlib.sha256))}"


claim_values = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=False),
                         st.text(max_size=8), st.lists(st.integers(), max_size=2))
claim_names = st.sampled_from(["sub", "role", "iat", "exp", "nickname", "nbf", "aud", "jti", "extra"])


@settings(max_examples=400, deadline=None)
@given(claims=st.dictionaries(claim_names, claim_values, max_size=6),
       exp_offset=st.one_of(st.none(), st.integers(-100, 100_000)),
       iat_offset=st.one_of(st.none(), st.integers(-100, 100_000)))
def test_whatever_the_claims_the_quick_check_never_accepts_what_pyjwt_refuses(claims, exp_offset, iat_offset):
    now = int(time.time())
    if exp_offset is not None:
        claims["exp"] = now + exp_offset
    if iat_offset is not None:
        claims["iat"] = now - iat_offset
    token = signed(json.dumps(claims).encode())
    quick = issued_claims(SECRET, token)
    assert quick is None or quick == pyjwt_claims(token)


@settings(max_examples=300, deadline=None)
@given(position=st.integers(0, 10_000), replacement=st.sampled_from("AZaz09-_.=+/ é"))
def test_a_token_changed_anywhere_is_left_to_pyjwt(position, replacement):
    token = issue_token(SECRET, "m-1", nickname="昵称")
    position %= len(token)
    tampered = token[:position] + replacement + token[position + 1:]
    # Even a change PyJWT lets pass (the unused low bits of the signature's last character) is left to it.
    assert tampered == token or issued_claims(SECRET, tampered) is None
