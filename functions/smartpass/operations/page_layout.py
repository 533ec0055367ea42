"""What the operator and district status pages share: the page frame, one stylesheet, the
Content-Security-Policy that allows exactly that stylesheet and nothing else (no script, no
image, no other origin), and the small formatters. Every value put into a page goes through
`esc` (html.escape); the pages never build markup from data any other way."""

from __future__ import annotations

import base64
import hashlib
import html
from datetime import datetime

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1b1f24;
background:#f6f7f9}
header{background:#1f3a5f;color:#fff;padding:14px 24px}
header h1{margin:0;font-size:1.3rem}
header p{margin:4px 0 0;font-size:.85rem;opacity:.85}
main{padding:16px 24px;max-width:1200px}
section{background:#fff;border:1px solid #dde1e6;border-radius:6px;margin:0 0 16px;padding:12px 16px}
h2{font-size:1.05rem;margin:0 0 10px}
table{border-collapse:collapse;width:100%;font-size:.85rem}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #eceef1;vertical-align:top}
th{background:#f2f4f7;font-weight:600}
td.n{text-align:right;font-variant-numeric:tabular-nums}
code{font-size:.8rem;background:#f2f4f7;padding:1px 4px;border-radius:3px}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:.78rem;font-weight:600;
background:#e6e9ee}
.st-active,.st-succeeded,.st-approved{background:#dcf2e0;color:#1d5e2a}
.st-held{background:#fff0c7;color:#7a5200}
.st-failed,.st-error{background:#fde0de;color:#8c1d18}
.st-paused,.st-rejected,.st-skipped{background:#e6e9ee;color:#3b4350}
.st-syncing,.st-connecting,.st-running,.st-queued{background:#dde9fb;color:#1f4f96}
.muted{color:#6a7380}
.empty{color:#6a7380;font-style:italic}
.charts{display:flex;flex-wrap:wrap;gap:12px}
figure{margin:0;border:1px solid #eceef1;border-radius:6px;padding:8px;background:#fff}
figcaption{font-size:.85rem;margin-bottom:4px}
svg text{font-size:10px;fill:#4a5360}
svg .axis{stroke:#b8bfc8;stroke-width:1}
.s-created{fill:#2e7d32}.s-updated{fill:#1f6fd1}.s-reactivated{fill:#7b4fc9}
.s-deactivated{fill:#c0392b}.s-invalid{fill:#e0a100}.s-none{fill:#c9ced6}
.s-held{fill:#fff0c7;stroke:#e0a100;stroke-dasharray:3 2}
.m-held{fill:#e0a100}.m-failed{fill:#c0392b}.m-ok{fill:#2e7d32}.m-other{fill:#9aa3af}
.legend{font-size:.8rem;margin:6px 0 0;padding:0;list-style:none;display:flex;gap:12px;flex-wrap:wrap}
.key{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
.k-created{background:#2e7d32}.k-updated{background:#1f6fd1}.k-reactivated{background:#7b4fc9}
.k-deactivated{background:#c0392b}.k-invalid{background:#e0a100}
.k-held{background:#fff0c7;outline:1px dashed #e0a100}
.finding{border-left:4px solid #e0a100;padding:6px 10px;margin:8px 0;background:#fffaf0}
.finding p{margin:2px 0}
.notice{border-left:4px solid #c0392b;padding:6px 10px;background:#fdf3f2}
form.decision{display:inline-block;margin:10px 10px 0 0}
.button,button{display:inline-block;padding:6px 14px;border-radius:5px;border:1px solid #1f3a5f;
background:#1f3a5f;color:#fff;font-size:.9rem;text-decoration:none;cursor:pointer}
button.reject{background:#fff;color:#1f3a5f}
""".strip()

_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
# The pages are self-contained: this stylesheet (by hash) and nothing else may load or run.
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; img-src 'none'; script-src 'none'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
# Sent with every page: never cached (operators' data, a district's token in the URL), never
# framed, never sniffed, and no Referer that could carry the district's token elsewhere.
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


def esc(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def number(value: int | float | None) -> str:
    return "—" if value is None else f"{int(value):,}"


def badge(state: str | None, words: str | None = None) -> str:
    css = "".join(c for c in (state or "") if c.isalnum())
    return f'<span class="badge st-{css}">{esc(words or state or "—")}</span>'


def page(title: str, subtitle: str, body: str) -> str:
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{esc(title)}</title><style>{STYLE}</style></head>"
        f"<body><header><h1>{esc(title)}</h1><p>{esc(subtitle)}</p></header>"
        f"<main>{body}</main></body></html>\n"
    )
