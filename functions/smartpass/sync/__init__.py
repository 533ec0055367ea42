"""Roster sync: what a sync request is, the nightly fan-out and the per-district run."""
