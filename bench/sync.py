"""Sync benchmark: a generated district of N users through the sandbox, initial then nightly.

    python -m bench.sync --users 10000 --churn 0.01 [--save]

This process runs the ClassLink sandbox and the local stack (moto server, tables and queue
from template.yaml); the worker runs in a child process (bench/sync_worker.py), so its peak
RSS is the worker's alone. Steps:
1. initial: an `initial` request on the sync queue; the child delivers it and every
   continuation to the real worker handler;
2. churn: C x N users change in the sandbox (half edited, a quarter added, a quarter purged
   with their enrollments); `changed_records` is counted from the sandbox's own records before
   and after (the fields we store), not by the engine;
3. nightly: a `nightly` request, the same way;
4. raw: the same pages fetched and batch-written with no reconcile (the floor).
Writes are counted at botocore in the child. `naive_nightly_writes` is what rewriting every
stored record each night would cost. Prints one JSON line; `--save` also writes it to
bench/results/sync-<N>-users.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from classlink_sandbox.changes import apply_change
from classlink_sandbox.generator import DistrictSpec
from classlink_sandbox.server import SandboxServer
from classlink_sandbox.world import Tenant
from local_stack.__main__ import sandbox_endpoints
from local_stack.stack import LocalStack
from smartpass.data.districts import District, DistrictState
from smartpass.data.sync_runs import SyncRun
from smartpass.data.tables import bind_tables
from smartpass.settings import get_settings
from smartpass.sync.collections import COLLECTIONS
from smartpass.sync.requests import SyncRequest

RESULTS = Path(__file__).parent / "results"
TENANT_ID = 7001
PAGE_SIZE = 10_000
RAW_KEYS = {"seconds": "seconds", "writes": "writes", "worker_peak_rss_mb": "peak_rss_mb"}


def district_spec(users: int) -> DistrictSpec:
    teachers = max(2, users // 25)
    aides = users // 200
    administrators = max(1, users // 500)
    return DistrictSpec(
        tenant_id=TENANT_ID,
        name="Bench Unified",
        seed=11,
        schools=max(1, users // 800),
        students=users - teachers - aides - administrators,
        teachers=teachers,
        aides=aides,
        administrators=administrators,
        share_unenrolled=True,
    )


def snapshot(sandbox: SandboxServer, tenant: Tenant) -> dict[str, dict[str, str]]:
    """What we would store of each shared record (plus its status), per collection."""
    shot: dict[str, dict[str, str]] = {}
    for name, spec in COLLECTIONS.items():
        rows, _ = sandbox.app.engine.select(tenant, spec.endpoint, {})
        shot[name] = {
            r["sourcedId"]: json.dumps([r.get(f) for f in spec.fields], sort_keys=True, default=str)
            for r in rows
            if r.get("role") != "guardian"
        }
    return shot


def changed_records(before: dict[str, dict[str, str]], after: dict[str, dict[str, str]]) -> int:
    changed = 0
    for name in before:
        old, new = before[name], after[name]
        changed += sum(1 for sid in new if sid not in old or old[sid] != new[sid])
        changed += sum(1 for sid in old if sid not in new and '"active"' in old[sid])
    return changed


def pages_needed(sandbox: SandboxServer, tenant: Tenant) -> int:
    return sum(
        max(1, math.ceil(len(sandbox.app.engine.select(tenant, spec.endpoint, {})[0]) / PAGE_SIZE))
        for spec in COLLECTIONS.values()
    )


def churn(tenant: Tenant, fraction: float, users: int) -> None:
    n = round(fraction * users)
    students = sorted(sid for sid, u in tenant.users().items() if u["role"] == "student")
    edits, adds = n // 2, n // 4
    purges = n - edits - adds
    for sid in students[:edits]:
        apply_change(tenant, {"op": "edit_user", "sourcedId": sid, "fields": {"familyName": "Changed"}})
    if adds:
        apply_change(tenant, {"op": "add_users", "count": adds, "role": "student"})
    if purges:
        apply_change(tenant, {"op": "purge", "sourcedIds": students[edits : edits + purges]})


def child(args: list[str]) -> dict[str, Any]:
    done = subprocess.run(  # noqa: S603 - our own module, with arguments we built
        [sys.executable, "-m", "bench.sync_worker", *args],
        check=True,
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def sync_once(stack: LocalStack, kind: str) -> tuple[dict[str, Any], SyncRun]:
    request = SyncRequest(
        tenant_id=str(TENANT_ID), kind=kind, trigger=f"bench:{kind}", requested_at=time.time()
    )
    stack.client("sqs").send_message(
        QueueUrl=stack.environment["SYNC_QUEUE_URL"], MessageBody=request.model_dump_json()
    )
    worker = stack.functions["NightlySyncWorkerFunction"]
    figures = child(["worker", worker.physical_name, str(worker.timeout_seconds), str(worker.memory_mb)])
    run = SyncRun.get(str(TENANT_ID), request.resolved_run_id(), consistent_read=True)
    if run.state != "succeeded":
        raise SystemExit(f"the {kind} run ended {run.state}: {run.error} {run.findings}")
    return figures, run


def progress(phase: str, figures: dict[str, Any], run: SyncRun, pages: int, **extra: Any) -> None:
    """Each phase's figures on stderr as it ends, so a long run that is stopped still says
    what it measured (stdout keeps the one final line)."""
    line = {"phase": phase, **figures, "requests": int(run.requests), "pages_needed": pages, **extra}
    sys.stderr.write(json.dumps(line) + "\n")
    sys.stderr.flush()


def cpu(run: SyncRun) -> dict[str, Any]:
    """The worker's own CPU for the run (thread CPU per phase, summed over its pieces), and per
    1,000 records fetched."""
    spent = run.cpu_seconds.as_dict() if run.cpu_seconds else {}
    phases = {k: round(float(v), 3) for k, v in spent.items()}
    fetched = int(run.counts.as_dict()["total"].get("fetched", 0))
    total = sum(phases.values())
    return {
        "cpu_seconds_by_phase": phases,
        "cpu_seconds_per_1000_records": round(total / fetched * 1000, 4) if fetched and phases else None,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.sync", description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=10_000, help="synced users in the generated district")
    parser.add_argument("--churn", type=float, default=0.01, help="share of users changed before the nightly")
    parser.add_argument("--save", action="store_true", help="also write bench/results/sync-<N>-users.json")
    parser.add_argument("--no-raw", action="store_true", help="skip the raw floor (largest districts)")
    args = parser.parse_args(argv)

    sandbox = SandboxServer().start()
    generated = time.perf_counter()
    sandbox.add_district(district_spec(args.users))
    generated = time.perf_counter() - generated
    tenant = sandbox.world.tenants[TENANT_ID]
    stack = LocalStack(
        sandbox_endpoints(sandbox)[0],
        prefix="smartpass-bench",
    ).start()
    try:
        settings = get_settings()
        bind_tables(settings)
        secret_id = f"{settings.district_secret_prefix}{TENANT_ID}"
        stack.client("secretsmanager").create_secret(
            Name=secret_id,
            SecretString=json.dumps(
                {
                    "mode": "proxy",
                    "bearer": tenant.bearer,
                    "oneroster_application_id": tenant.oneroster_application_id,
                }
            ),
        )
        District(
            tenant_id=str(TENANT_ID),
            name=tenant.name,
            state=DistrictState.CONNECTING.value,
            credentials_secret_id=secret_id,
            oneroster_application_id=tenant.oneroster_application_id,
        ).save()

        initial_pages = pages_needed(sandbox, tenant)
        initial, initial_run = sync_once(stack, "initial")
        progress("initial", initial, initial_run, initial_pages)
        before = snapshot(sandbox, tenant)
        churn(tenant, args.churn, args.users)
        changed = changed_records(before, snapshot(sandbox, tenant))
        nightly_pages = pages_needed(sandbox, tenant)
        nightly, nightly_run = sync_once(stack, "nightly")
        progress("nightly", nightly, nightly_run, nightly_pages, changed_records=changed)
        raw = None if args.no_raw else child(["raw", str(TENANT_ID), f"raw-{TENANT_ID}"])
    finally:
        stack.stop()
        sandbox.stop()

    nightly_totals = nightly_run.counts.as_dict()["total"]
    figures: dict[str, Any] = {
        "users": args.users,
        "churn": args.churn,
        "records_in_district": sum(len(v) for v in before.values()),
        "initial": {
            "requests": int(initial_run.requests),
            "pages_needed": initial_pages,
            "writes": initial["writes"],
            "seconds": initial["seconds"],
            "worker_peak_rss_mb": initial["peak_rss_mb"],
            "invocations": initial["invocations"],
            **cpu(initial_run),
        },
        "nightly": {
            "changed_records": changed,
            "writes": nightly["writes"],
            "requests": int(nightly_run.requests),
            "pages_needed": nightly_pages,
            "seconds": nightly["seconds"],
            "worker_peak_rss_mb": nightly["peak_rss_mb"],
            "invocations": nightly["invocations"],
            **cpu(nightly_run),
        },
        "naive_nightly_writes": sum(
            int(nightly_totals[k]) for k in ("created", "updated", "unchanged", "reactivated", "deactivated")
        ),
        "raw": None if raw is None else {k: raw[v] for k, v in RAW_KEYS.items()},
        "ratios": {
            "nightly_writes_per_change": round(nightly["writes"] / max(1, changed), 3),
            "raw_over_initial_seconds": None
            if raw is None
            else round(raw["seconds"] / max(0.001, initial["seconds"]), 3),
        },
        "sandbox_generate_seconds": round(generated, 2),
        "worker_timeout_seconds": stack.functions["NightlySyncWorkerFunction"].timeout_seconds,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    sys.stdout.write(json.dumps(figures) + "\n")
    if args.save:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"sync-{args.users}-users.json").write_text(json.dumps(figures, indent=2) + "\n")
    return figures


if __name__ == "__main__":
    main()
