"""Short-lived SSO records. Both expire by TTL, and code must also check `expires_at` itself:
DynamoDB deletes expired items lazily (up to days later), and moto not at all.

Access patterns
- LoginState: get by the `state` we sent to ClassLink; consume once (conditional update)
- LoginCode: get by the SHA-256 of a one-time code we handed to the browser; consume once
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)

from smartpass.data.base import BoundModel, utcnow


class LoginState(BoundModel):
    class Meta(BoundModel.Meta):
        pass

    state = UnicodeAttribute(hash_key=True)
    nonce = UnicodeAttribute()
    code_verifier = UnicodeAttribute()
    return_path = UnicodeAttribute(default="/")
    # SHA-256 of the value set in the starting browser's cookie (never the value itself).
    browser_binding_hash = UnicodeAttribute(null=True)
    # A client that starts the login itself binds the login code it will get by PKCE: the S256
    # challenge of a verifier only it holds (then no code cookie is set).
    code_challenge = UnicodeAttribute(null=True)
    # Where the login ends: None for the app (return_path on it), or a page of ours that signs
    # people in through ClassLink ("district_holds": a district administrator's held syncs).
    destination = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute(default=utcnow)
    expires_at = TTLAttribute()
    consumed = BooleanAttribute(default=False)


class LoginCode(BoundModel):
    class Meta(BoundModel.Meta):
        pass

    code_hash = UnicodeAttribute(hash_key=True)
    tenant_id = UnicodeAttribute()
    sourced_id = UnicodeAttribute()
    role = UnicodeAttribute(default="")
    school_ids = ListAttribute(of=UnicodeAttribute, default=list)
    # What binds the code to the client that finished the login (exactly one is set): the
    # SHA-256 of the code cookie the callback set in that browser, or the PKCE challenge of the
    # client that started the login.
    binding_hash = UnicodeAttribute(null=True)
    code_challenge = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute(default=utcnow)
    expires_at = TTLAttribute()
    consumed = BooleanAttribute(default=False)
