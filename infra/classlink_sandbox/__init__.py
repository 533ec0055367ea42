"""A local ClassLink: Partner API, OneRoster v1p1 (OAuth1 and proxy), OAuth2/OIDC, nodeapi and
LaunchPad, over real HTTP, with synthetic districts and fault injection. Never shipped.

Behaviour follows ../shared/reference/classlink-facts.md; each choice cites its section."""
