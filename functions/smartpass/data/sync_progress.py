"""SyncProgress: scratch state of one sync run that outlives an invocation. Never roster data.

A run that checkpoints before its Lambda time runs out keeps here what the next invocation
needs and cannot re-read from ClassLink cheaply: the sourcedIds the unfinished pull has already
seen (so absence is judged over the whole pull, not the last piece), and the deactivations the
run has decided. A held run keeps its deactivations here until an operator approves or rejects
them. Parts expire by TTL (the code never relies on TTL: a finished run deletes its parts).

Access patterns
- every part of a run, to resume it or apply its held deactivations -> query(run_key)
- one collection's parts of a run, to restart that collection       -> query(run_key, begins_with)
Items: run_key = "<tenant_id>#<run_id>", part = "<kind>#<collection>#<piece>#<n>", and a zlib'd
JSON list in `blob` (a few thousand ids per part keeps each item far below 400 KB).
"""

from __future__ import annotations

from pynamodb.attributes import BinaryAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute

from smartpass.data.base import BoundModel


class SyncProgress(BoundModel):
    class Meta(BoundModel.Meta):
        pass

    run_key = UnicodeAttribute(hash_key=True)
    part = UnicodeAttribute(range_key=True)
    blob = BinaryAttribute(legacy_encoding=False)
    entries = NumberAttribute()
    expires_at = TTLAttribute()


def run_key(tenant_id: str, run_id: str) -> str:
    return f"{tenant_id}#{run_id}"
