"""smartpass-ops: the operator command line (districts, syncs, held runs, sign-in checks, dead
letters, the status page), against the local stack or a deployed stack in AWS."""
