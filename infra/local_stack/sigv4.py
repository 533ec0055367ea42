"""The AWS_IAM authorizer of the local HTTP API: checks a request's Signature Version 4 the way
API Gateway does, against the one set of credentials the local stack knows.

The signature is recomputed with botocore's own signer over the headers the caller says it
signed, and compared in constant time; the date must be within 5 minutes of now and the
credential scope must name this region and `execute-api`. What passes becomes the caller
identity that API Gateway puts in `requestContext.authorizer.iam`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

SERVICE = "execute-api"
ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = timedelta(minutes=5)
_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<credential>[^,\s]+),\s*"
    r"SignedHeaders=(?P<signed>[a-z0-9;\-]+),\s*Signature=(?P<signature>[0-9a-f]{64})$"
)


@dataclass(frozen=True)
class SignedRequest:
    """What the gateway received, as it arrived on the wire (raw path and query)."""

    method: str
    host: str
    raw_path: str
    raw_query: str
    headers: dict[str, str]  # lower-cased names
    body: bytes


class _Recompute(SigV4Auth):
    """botocore's signer, told exactly which headers the caller signed (botocore's own choice
    of headers is for signing, not for checking someone else's signature)."""

    def __init__(self, credentials: Credentials, region: str, signed: list[str]) -> None:
        super().__init__(credentials, SERVICE, region)
        self._signed = signed

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        chosen = HTTPHeaders()
        for name in self._signed:
            chosen[name] = request.headers[name]
        return chosen


@dataclass(frozen=True)
class IamAuthorizer:
    access_key: str
    secret_key: str
    session_token: str | None
    region: str
    account_id: str

    def authorize(self, request: SignedRequest, now: datetime | None = None) -> dict[str, Any] | None:
        """The caller identity if the request is signed with our credentials, else None."""
        found = _AUTHORIZATION.match(request.headers.get("authorization", "").strip())
        if not found:
            return None
        parts = found["credential"].split("/")
        amz_date = request.headers.get("x-amz-date", "")
        try:
            signed_at = datetime.strptime(amz_date, SIGV4_TIMESTAMP).replace(tzinfo=UTC)
        except ValueError:
            return None
        if abs((now or datetime.now(UTC)) - signed_at) > MAX_SKEW:
            return None
        if len(parts) != 5 or parts[1:] != [amz_date[:8], self.region, SERVICE, "aws4_request"]:
            return None
        if not hmac.compare_digest(parts[0].encode(), self.access_key.encode()):
            return None
        if self.session_token is not None and not hmac.compare_digest(
            request.headers.get("x-amz-security-token", "").encode(), self.session_token.encode()
        ):
            return None
        signed = found["signed"].split(";")
        if "host" not in signed or any(name not in request.headers for name in signed):
            return None
        claimed_hash = request.headers.get("x-amz-content-sha256")
        if claimed_hash is not None and claimed_hash != hashlib.sha256(request.body).hexdigest():
            return None
        if not hmac.compare_digest(
            self._signature(request, signed, amz_date).encode(), found["signature"].encode()
        ):
            return None
        return {
            "accessKey": self.access_key,
            "accountId": self.account_id,
            "callerId": f"LOCAL:{self.access_key}",
            "cognitoIdentity": None,
            "principalOrgId": None,
            "userArn": f"arn:aws:iam::{self.account_id}:user/local-operator",
            "userId": f"LOCAL:{self.access_key}",
        }

    def _signature(self, request: SignedRequest, signed: list[str], amz_date: str) -> str:
        query = f"?{request.raw_query}" if request.raw_query else ""
        # The scheme does not enter the signature; https makes botocore hash the body as AWS does.
        aws_request = AWSRequest(
            method=request.method,
            url=f"https://{request.host}{request.raw_path}{query}",
            headers={name: request.headers[name] for name in signed},
            data=request.body,
        )
        aws_request.context["timestamp"] = amz_date
        signer = _Recompute(
            Credentials(self.access_key, self.secret_key, self.session_token), self.region, signed
        )
        canonical = signer.canonical_request(aws_request)
        return str(signer.signature(signer.string_to_sign(aws_request, canonical), aws_request))
