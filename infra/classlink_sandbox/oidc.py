"""ClassLink's OAuth2 / OIDC side: authorization codes, tokens, RS256 id_tokens, JWKS, my/info.

classlink-facts A1-A6: issuer = the LaunchPad base URL; codes last 5 minutes and are single use;
the token endpoint takes client_secret_post or client_secret_basic and does not require
grant_type or redirect_uri (ClassLink's own libraries send neither); access tokens last 24 h;
id_tokens are RS256 with the documented claims plus the classLink_* claims from discovery;
my/info answers in PascalCase with integer UserId/TenantId, string SourcedId, capitalised Role.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from classlink_sandbox.world import Record, Tenant, World

CODE_TTL_SECONDS = 300
TOKEN_TTL_SECONDS = 86_400
ROLE = {
    "student": ("Student", 4),
    "teacher": ("Teacher", 3),
    "aide": ("Teacher", 3),
    "administrator": ("Tenant Administrator", 1),
    "guardian": ("Parent", 5),
}


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


@dataclass
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey

    def public_jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}


def _new_key(number: int) -> SigningKey:
    return SigningKey(f"sandbox-{number}", rsa.generate_private_key(public_exponent=65537, key_size=2048))


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    tenant_id: int
    sourced_id: str
    scope: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    expires_at: float
    impersonated_by: str | None = None
    used: bool = False


@dataclass
class OidcProvider:
    world: World
    issuer: str = ""
    nodeapi_url: str = ""
    # E3 is open: "optional" checks a verifier only if one is sent; "required" refuses without.
    pkce_mode: str = "optional"
    # "classlink": the documented and classLink_* claims (A3-A4); "standard": standard ones only.
    claims_mode: str = "classlink"
    keys: list[SigningKey] = field(default_factory=lambda: [_new_key(1)])
    _codes: dict[str, Grant] = field(default_factory=dict)
    _tokens: dict[str, tuple[Grant, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # ------------------------------------------------------------ keys
    def rotate_keys(self, retire_old: bool = False) -> str:
        """New tokens are signed with a new key; the old one stays in the JWKS unless retired."""
        with self._lock:
            key = _new_key(len(self.keys) + 1)
            self.keys = [key] if retire_old else [key, *self.keys]
            return key.kid

    def jwks(self) -> dict[str, Any]:
        return {"keys": [k.public_jwk() for k in self.keys]}

    def discovery(self) -> dict[str, Any]:
        # Fields as psd401 read them from the live document (A1, A2, A4).
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/oauth2/v2/auth",
            "token_endpoint": f"{self.issuer}/oauth2/v2/token",
            "jwks_uri": f"{self.issuer}/oauth2/v2/jwks",
            "userinfo_endpoint": f"{self.nodeapi_url}/v2/my/profileinfo",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "scopes_supported": [
                "openid",
                "profile",
                "email",
                "oneroster",
                "classes",
                "classes.readonly",
                "admin",
                "full",
                "inbox",
                "files",
            ],
            "claims_supported": [
                "sub",
                "given_name",
                "middle_name",
                "family_name",
                "preferred_username",
                "email",
                "email_verified",
                "profile",
                "phone_number_verified",
                "picture",
                "address",
                "classLink_tenant_id",
                "classLink_tenant_id_string",
                "classLink_role",
                "classLink_role_level",
                "classLink_sourcedId",
                "classLink_org_sourcedids",
            ],
        }

    # ------------------------------------------------------------ codes and tokens
    def issue_code(self, grant: Grant) -> str:
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._codes[code] = grant
        return code

    def new_grant(
        self,
        client_id: str,
        redirect_uri: str,
        tenant: Tenant,
        sourced_id: str,
        *,
        scope: str = "profile",
        nonce: str | None = None,
        code_challenge: str | None = None,
        code_challenge_method: str | None = None,
        impersonated_by: str | None = None,
    ) -> Grant:
        return Grant(
            client_id,
            redirect_uri,
            tenant.tenant_id,
            sourced_id,
            scope,
            nonce,
            code_challenge,
            code_challenge_method,
            time.time() + CODE_TTL_SECONDS,
            impersonated_by,
        )

    def exchange(self, form: dict[str, str], basic: tuple[str, str] | None) -> dict[str, Any]:
        client_id, client_secret = (
            basic if basic else (form.get("client_id", ""), form.get("client_secret", ""))
        )
        client = self.world.clients.get(client_id)
        if client is None or not hmac.compare_digest(client.client_secret, client_secret or ""):
            raise OAuthError("invalid_client", "client authentication failed", 401)
        if form.get("grant_type") not in (None, "", "authorization_code"):
            raise OAuthError("unsupported_grant_type", "only authorization_code is supported")
        code = form.get("code", "")
        with self._lock:
            grant = self._codes.get(code)
            if grant is None or grant.used or grant.expires_at < time.time() or grant.client_id != client_id:
                raise OAuthError("invalid_grant", "the code is invalid, expired, used or for another client")
            grant.used = True
        if form.get("redirect_uri") and form["redirect_uri"] != grant.redirect_uri:
            raise OAuthError("invalid_grant", "redirect_uri does not match the authorization request")
        self._check_pkce(grant, form.get("code_verifier"))
        tenant, user = self._user_of(grant, "invalid_grant", 400)
        access_token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[access_token] = (grant, time.time() + TOKEN_TTL_SECONDS)
        return {
            "access_token": access_token,
            "token_type": "Bearer",
            "response_type": "code",
            "id_token": self.id_token(grant, tenant, user),
        }

    def _check_pkce(self, grant: Grant, verifier: str | None) -> None:
        if grant.code_challenge is None:
            return
        if not verifier:
            if self.pkce_mode == "required":
                raise OAuthError("invalid_grant", "code_verifier is required")
            return
        if grant.code_challenge_method == "S256":
            computed = (
                base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            )
        else:
            computed = verifier
        if not hmac.compare_digest(computed, grant.code_challenge):
            raise OAuthError("invalid_grant", "code_verifier does not match the code_challenge")

    def id_token(self, grant: Grant, tenant: Tenant, user: Record) -> str:
        now = int(time.time())
        role, level = ROLE.get(user["role"], ("Student", 4))
        user_id = tenant.classlink_user_ids[user["sourcedId"]]
        claims = {
            "iss": self.issuer,
            "sub": str(user_id),
            "aud": grant.client_id,
            "iat": now,
            "auth_time": now,
            "exp": now + TOKEN_TTL_SECONDS,
            "login_hint": user["username"],
            "email": user["email"],
            "email_verified": bool(user["email"]),
            "name": f"{user['givenName']} {user['familyName']}",
            "given_name": user["givenName"],
            "family_name": user["familyName"],
            "profile": role,
            "address": {"locality": tenant.name, "region": tenant.state_name},
            "classLink_tenant_id": tenant.tenant_id,
            "classLink_tenant_id_string": str(tenant.tenant_id),
            "classLink_role": role,
            "classLink_role_level": level,
            "classLink_sourcedId": user["sourcedId"] if tenant.oneroster_enabled else "",
            "classLink_org_sourcedids": [o["sourcedId"] for o in user["orgs"]],
        }
        if grant.nonce:
            claims["nonce"] = grant.nonce
        if self.claims_mode == "standard":
            # A4: which classLink_* claims appear under which scope is undocumented; this mode
            # issues only the standard OIDC claims, so clients must get identity from my/info.
            claims = {k: v for k, v in claims.items() if not k.startswith("classLink_")}
        key = self.keys[0]
        return jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid})

    def grant_for_token(self, header: str) -> Grant:
        token = header[7:].strip() if header.startswith("Bearer ") else ""
        with self._lock:
            found = self._tokens.get(token)
        if found is None or found[1] < time.time():
            raise OAuthError("invalid_token", "missing, unknown or expired access token", 401)
        self._user_of(found[0], "invalid_token", 401)
        return found[0]

    def _user_of(self, grant: Grant, error: str, status: int) -> tuple[Tenant, Record]:
        """The grant's user, unless the district purged them since (then the grant is dead)."""
        tenant = self.world.tenants[grant.tenant_id]
        user = tenant.users().get(grant.sourced_id)
        if user is None:
            raise OAuthError(error, "the user no longer exists in this district", status)
        return tenant, user

    def my_info(self, grant: Grant) -> dict[str, Any]:
        """A5: the documented fields, with the live types code.org observed."""
        tenant, user = self._user_of(grant, "invalid_token", 401)
        role, level = ROLE.get(user["role"], ("Student", 4))
        return {
            "UserId": tenant.classlink_user_ids[user["sourcedId"]],
            "TenantId": tenant.tenant_id,
            "StateId": 2,
            "StateName": tenant.state_name,
            "BuildingId": 1,
            "AuthenticationType": 2,
            "DisplayName": f"{user['givenName']} {user['familyName']}",
            "FirstName": user["givenName"],
            "LastName": user["familyName"],
            "Email": user["email"],
            "LoginId": user["username"],
            "ImagePath": "",
            "LanguageId": 1,
            "Language": "en",
            "DefaultTimeFormat": 0,
            "Profile": f"{tenant.name} {role} Profile",
            "ProfileId": 3000 + level,
            "Tenant": tenant.name,
            "Building": f"{tenant.slug}.example.k12.us",
            "Role": role,
            "Role_Level": level,
            "LastAccessTime": "2026-11-01T12:00:00.000Z",
            "OrgId": [o["sourcedId"] for o in user["orgs"]],
            "SourcedId": user["sourcedId"] if tenant.oneroster_enabled else "",
            "or_email": user["email"],
        }
