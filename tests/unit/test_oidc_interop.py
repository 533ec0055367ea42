"""OIDC interoperability (security review): the token endpoint's client authentication as the
provider's discovery lists it, `invalid_client` told apart from a refused code, and an unknown
`kid` fetching the keys again at once, one fetch at a time. Against an in-process stand-in of the
provider mounted as the HTTP session's transport (no sockets)."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from requests.adapters import BaseAdapter

from smartpass.classlink.http import ClassLinkError
from smartpass.classlink.oidc import (
    JWKS_REFRESH_MIN_SECONDS,
    ClientRejected,
    CodeRejected,
    InvalidIdToken,
    OidcClient,
)

ISSUER = "https://launchpad.example"


class Provider(BaseAdapter):
    """A provider answering discovery, token and JWKS requests; counts what it was asked."""

    def __init__(self, auth_methods: list[str] | None, accepts: str = "any") -> None:
        super().__init__()
        self.auth_methods, self.accepts = auth_methods, accepts
        self.keys: dict[str, Any] = {"k1": rsa.generate_private_key(public_exponent=65537, key_size=2048)}
        self.jwks_fetches = 0
        self.token_requests: list[requests.PreparedRequest] = []
        self.on_jwks: Callable[[], None] = lambda: None
        self.token_error = ""

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        path = str(request.url).removeprefix(ISSUER)
        if path == "/.well-known/openid-configuration":
            body: dict[str, Any] = {
                "issuer": ISSUER,
                "authorization_endpoint": f"{ISSUER}/oauth2/v2/auth",
                "token_endpoint": f"{ISSUER}/oauth2/v2/token",
                "jwks_uri": f"{ISSUER}/oauth2/v2/keys",
            }
            if self.auth_methods is not None:
                body["token_endpoint_auth_methods_supported"] = self.auth_methods
            return self._answer(request, 200, body)
        if path == "/oauth2/v2/keys":
            self.jwks_fetches += 1
            self.on_jwks()
            keys = [
                {**jwt.algorithms.RSAAlgorithm.to_jwk(k.public_key(), as_dict=True), "kid": kid, "use": "sig"}
                for kid, k in self.keys.items()
            ]
            return self._answer(request, 200, {"keys": keys})
        self.token_requests.append(request)
        if self.token_error:
            return self._answer(request, 400, {"error": self.token_error})
        basic = str(request.headers.get("Authorization", "")).startswith("Basic ")
        form = parse_qs(str(request.body or ""))
        used = "basic" if basic else ("post" if "client_secret" in form else "none")
        if self.accepts not in ("any", used):
            return self._answer(request, 401, {"error": "invalid_client"})
        return self._answer(request, 200, {"access_token": "a", "id_token": "i", "token_type": "Bearer"})

    def close(self) -> None:
        pass

    @staticmethod
    def _answer(request: requests.PreparedRequest, status: int, body: dict[str, Any]) -> requests.Response:
        response = requests.Response()
        response.status_code, response.request, response.url = status, request, str(request.url)
        response._content = json.dumps(body).encode()
        response.headers["Content-Type"] = "application/json"
        return response


def _client(provider: Provider) -> OidcClient:
    session = requests.Session()
    session.mount("https://", provider)
    return OidcClient(ISSUER, "https://nodeapi.example", session=session)


def _exchange(client: OidcClient) -> None:
    client.exchange("code", "client id", "s3cr:et/+", "https://api.example/cb", "verifier")


def test_client_secret_basic_is_used_when_discovery_lists_it() -> None:
    provider = Provider(["client_secret_post", "client_secret_basic"], accepts="basic")
    _exchange(_client(provider))
    [sent] = provider.token_requests
    user, _, secret = base64.b64decode(str(sent.headers["Authorization"]).split()[1]).decode().partition(":")
    assert (user, secret) == ("client%20id", "s3cr%3Aet%2F%2B")  # RFC 6749 §2.3.1: form-encoded first
    assert "client_secret" not in parse_qs(str(sent.body))


def test_client_secret_post_is_used_when_it_is_the_only_one_listed() -> None:
    provider = Provider(["client_secret_post"], accepts="post")
    _exchange(_client(provider))
    [sent] = provider.token_requests
    assert "Authorization" not in sent.headers and parse_qs(str(sent.body))["client_secret"] == ["s3cr:et/+"]


def test_a_provider_that_lists_nothing_gets_basic_the_default() -> None:
    provider = Provider(None, accepts="basic")
    _exchange(_client(provider))


def test_invalid_client_is_our_misconfiguration_not_a_refused_code() -> None:
    provider = Provider(["client_secret_basic"], accepts="post")  # says basic, takes post only
    with pytest.raises(ClientRejected):
        _exchange(_client(provider))
    with pytest.raises(ClientRejected):
        _exchange(_client(Provider(["private_key_jwt"])))
    assert not issubclass(ClientRejected, CodeRejected)


def test_a_listed_method_refused_as_sent_gives_way_to_the_other_listed_one_and_is_remembered() -> None:
    provider = Provider(["client_secret_basic", "client_secret_post"], accepts="post")
    client = _client(provider)
    _exchange(client)
    assert ["Authorization" in r.headers for r in provider.token_requests] == [True, False]
    _exchange(client)  # the warm function sends the one that worked first
    assert "Authorization" not in provider.token_requests[-1].headers and len(provider.token_requests) == 3


def test_any_other_refusal_of_the_token_request_is_this_sign_ins_not_our_client() -> None:
    provider = Provider(["client_secret_basic"])
    provider.token_error = "invalid_request"  # a garbage code sent to our callback, say
    with pytest.raises(CodeRejected):
        _exchange(_client(provider))


def _token(provider: Provider, kid: str) -> str:
    claims = {
        "iss": ISSUER,
        "aud": "client",
        "sub": "1",
        "iat": int(time.time()),
        "exp": int(time.time()) + 60,
    }
    return jwt.encode(claims, provider.keys[kid], algorithm="RS256", headers={"kid": kid})


def test_a_rotated_key_is_fetched_at_once_and_forged_kids_do_not_hammer_the_jwks() -> None:
    provider = Provider(["client_secret_basic"])
    client = _client(provider)
    client.verify_id_token(_token(provider, "k1"), "client", None)
    assert provider.jwks_fetches == 1
    provider.keys["k2"] = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # rotation
    client._jwks_tried_at -= JWKS_REFRESH_MIN_SECONDS  # as if the last fetch were a while ago
    assert client.verify_id_token(_token(provider, "k2"), "client", None)["sub"] == "1"
    assert provider.jwks_fetches == 2
    forged = jwt.encode({"sub": "1"}, provider.keys["k1"], algorithm="RS256", headers={"kid": "forged"})
    with pytest.raises(InvalidIdToken, match="unknown_kid_refresh_wait"):  # a transient refusal
        client.verify_id_token(forged, "client", None)
    assert provider.jwks_fetches == 2  # fetched seconds ago: not again
    client._jwks_tried_at -= JWKS_REFRESH_MIN_SECONDS
    with pytest.raises(InvalidIdToken, match=r"^unknown_kid$"):  # fetched afresh and still unknown
        client.verify_id_token(forged, "client", None)
    assert provider.jwks_fetches == 3


def test_a_failing_jwks_endpoint_is_not_asked_more_often_than_a_working_one() -> None:
    provider = Provider(["client_secret_basic"])
    client = _client(provider)

    def down() -> None:
        raise requests.ConnectionError("ClassLink is down")

    provider.on_jwks = down
    for _ in range(3):
        with pytest.raises((InvalidIdToken, ClassLinkError)):
            client.verify_id_token(_token(provider, "k1"), "client", None)
    assert provider.jwks_fetches == 1


def test_one_jwks_fetch_in_flight_serves_every_waiting_sign_in() -> None:
    provider = Provider(["client_secret_basic"])
    client = _client(provider)
    gate = threading.Event()
    provider.on_jwks = lambda: gate.wait(2)
    token = _token(provider, "k1")
    results: list[str] = []
    threads = [
        threading.Thread(target=lambda: results.append(client.verify_id_token(token, "client", None)["sub"]))
        for _ in range(5)
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.1)
    gate.set()
    for thread in threads:
        thread.join(5)
    assert results == ["1"] * 5 and provider.jwks_fetches == 1
