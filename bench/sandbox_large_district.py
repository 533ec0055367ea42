"""How the ClassLink sandbox holds a 200,000-user district: generation time, memory, and the
time to pull every page of 10,000 users over HTTP through the proxy, sorted by sourcedId.

Run: `make bench` (or `python -m bench.sandbox_large_district`). Prints the figures as one
JSON line; only with `--save` (`make bench ARGS=--save`) does it also write them to the tracked
bench/results/sandbox_large_district.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import time
from pathlib import Path

import requests

from classlink_sandbox.generator import DistrictSpec
from classlink_sandbox.server import SandboxServer

RESULTS = Path(__file__).parent / "results" / "sandbox_large_district.json"
SPEC = DistrictSpec(
    tenant_id=9001,
    name="Big City Public Schools",
    seed=3,
    schools=120,
    students=135_000,
    teachers=6_000,
    aides=600,
    administrators=400,
    classes_per_teacher=5,
    classes_per_student=5,
    share_unenrolled=True,
)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> dict[str, object]:
    server = SandboxServer().start()
    started = time.perf_counter()
    info = server.add_district(SPEC)
    generated_s = time.perf_counter() - started
    tenant = server.world.tenants[SPEC.tenant_id]
    headers = {"Authorization": f"Bearer {info['bearer']}"}
    page_seconds: list[float] = []
    rows = 0
    offset = 0
    session = requests.Session()
    while True:
        t0 = time.perf_counter()
        response = session.get(
            f"{info['proxy_base_url']}/users",
            headers=headers,
            timeout=120,
            params={
                "limit": "10000",
                "offset": str(offset),
                "sort": "sourcedId",
                "orderBy": "asc",
                "fields": "sourcedId,status,role,givenName,familyName,email,orgs",
            },
        )
        page = response.json()["users"]
        page_seconds.append(time.perf_counter() - t0)
        rows += len(page)
        if len(page) < 10_000:
            break
        offset += 10_000
    t0 = time.perf_counter()
    filtered = session.get(
        f"{info['proxy_base_url']}/users",
        headers=headers,
        timeout=120,
        params={"filter": "role='teacher'", "limit": "10000"},
    ).json()["users"]
    filter_s = time.perf_counter() - t0
    server.stop()
    result: dict[str, object] = {
        "users": len(tenant.users()),
        "enrollments": len(tenant.data["enrollments"]),
        "classes": len(tenant.data["classes"]),
        "generate_seconds": round(generated_s, 2),
        "max_rss_mb": round(rss_mb(), 1),
        "pages": len(page_seconds),
        "rows_pulled": rows,
        "first_page_seconds": round(page_seconds[0], 3),
        "median_page_seconds": round(sorted(page_seconds)[len(page_seconds) // 2], 3),
        "slowest_page_seconds": round(max(page_seconds), 3),
        "full_pull_seconds": round(sum(page_seconds), 2),
        "filter_teachers_seconds": round(filter_s, 3),
        "teachers_matched": len(filtered),
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores",
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    return result


def cli(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(
        prog="python -m bench.sandbox_large_district",
        description="The ClassLink sandbox with a 200,000-user district: figures as one JSON line.",
    )
    parser.add_argument("--save", action="store_true", help=f"also write the figures to {RESULTS.name}")
    args = parser.parse_args(argv)
    figures = main()
    print(json.dumps(figures), flush=True)
    if args.save:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    return figures


if __name__ == "__main__":
    cli()
