"""Which SmartPass stack the CLI works on, and its settings.

Both ways end in the environment the Lambda functions run with, so the CLI binds the same
tables and queues through the same `Settings`:
- the local stack writes its ready line, with that environment, to a ready file
  (`python -m local_stack --ready-file`, default `.local-stack.json`);
- a deployed stack is found by name: its worker function's configuration holds the environment,
  its resources name the dead-letter queues, its outputs the HTTP API's URL. Credentials, profile
  and region are boto3's usual ones (AWS_PROFILE, AWS_REGION or --profile, --region).
"""

from __future__ import annotations

import functools
import json
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3

from smartpass.data.stores import Stores, dynamo_stores
from smartpass.data.tables import bind_tables
from smartpass.settings import Settings

DEFAULT_READY_FILE = ".local-stack.json"
ENVIRONMENT_SOURCE = "NightlySyncWorkerFunction"  # every function shares Globals' environment
DEAD_LETTER_QUEUES = {"sync": "SyncDeadLetterQueue", "schedule": "ScheduleDeadLetterQueue"}


class TargetError(RuntimeError):
    """The stack cannot be found or read; the message says what to do."""


@dataclass
class Target:
    """A stack the CLI talks to: where it is, its settings, its dead-letter queues."""

    name: str
    settings: Settings
    http_api_url: str
    dead_letter_queues: dict[str, str]  # short name -> queue URL
    session: boto3.Session
    aws_endpoint_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self.aws_endpoint_url)

    @functools.cached_property
    def stores(self) -> Stores:
        """The stack's tables, through the repositories the functions use (bound when the target
        was opened)."""
        return dynamo_stores()


def from_ready_file(path: str | Path) -> Target:
    ready_path = Path(path)
    if not ready_path.is_file():
        raise TargetError(
            f"no local stack found at {ready_path}: start one with `make run` (it writes that file) "
            "or name a deployed stack with --stack NAME"
        )
    try:
        ready = json.loads(ready_path.read_text())
        environment = dict(ready["environment"])
        endpoint = ready["aws_endpoint_url"]
        region = ready["region"]
    except (ValueError, KeyError, TypeError) as exc:
        raise TargetError(f"{ready_path} is not a local stack ready file ({exc})") from None
    gone = _not_running(ready.get("pid"), endpoint)
    if gone:
        raise TargetError(
            f"the local stack in this folder is no longer running: {ready_path} names {gone} "
            "(a stack that crashed or was killed leaves its file behind). Start it again with "
            f"`make run` (it replaces the file), or delete {ready_path}."
        )
    # moto accepts any credentials; the SDK's own calls (PynamoDB, the domain's clients) read
    # the endpoint from AWS_ENDPOINT_URL, as the local stack's handlers do.
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_SESSION_TOKEN": "local",
            "AWS_DEFAULT_REGION": region,
            "AWS_REGION": region,
            "AWS_ENDPOINT_URL": endpoint,
        }
    )
    return _bind(
        name=f"local ({ready_path})",
        environment=environment,
        http_api_url=ready["http_api_url"],
        dead_letter_queues=dict(ready.get("dead_letter_queues") or {}),
        session=boto3.Session(region_name=region),
        aws_endpoint_url=endpoint,
        extra=ready,
    )


def _not_running(pid: object, endpoint: str) -> str | None:
    """Why the stack of a ready file cannot be there (its process has ended, or nothing answers
    at its AWS endpoint), or None when it can."""
    if isinstance(pid, int):
        try:
            os.kill(pid, 0)  # signal 0: only asks whether the process exists
        except ProcessLookupError:
            return f"process {pid}, which has ended"
        except PermissionError:
            pass  # it exists, as another user's
    address = urlsplit(endpoint)
    try:
        socket.create_connection((address.hostname or "127.0.0.1", address.port or 80), timeout=2).close()
    except OSError:
        return f"its AWS endpoint {endpoint}, where nothing answers"
    return None


def from_stack(stack_name: str, profile: str | None = None, region: str | None = None) -> Target:
    if profile and os.environ.get("AWS_ACCESS_KEY_ID"):
        # boto3 prefers credentials in the environment to a profile: the stack would be read
        # with one identity and its data changed with another.
        raise TargetError(
            "--profile is given, but AWS_ACCESS_KEY_ID is set in the environment and would be used "
            "instead: unset it (and AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) or drop --profile"
        )
    session = boto3.Session(profile_name=profile, region_name=region)
    if not session.region_name:
        raise TargetError("no AWS region: pass --region or set AWS_REGION to the stack's region")
    cloudformation = session.client("cloudformation")
    try:
        resources = {
            r["LogicalResourceId"]: r["PhysicalResourceId"]
            for r in cloudformation.describe_stack_resources(StackName=stack_name)["StackResources"]
        }
        outputs = {
            o["OutputKey"]: o["OutputValue"]
            for o in cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0].get("Outputs", [])
        }
        function = session.client("lambda").get_function_configuration(
            FunctionName=resources[ENVIRONMENT_SOURCE]
        )
        dead_letter_queues = {short: resources[lid] for short, lid in DEAD_LETTER_QUEUES.items()}
    except Exception as exc:  # any SDK or lookup failure means the same thing to an operator
        raise TargetError(f"cannot read stack {stack_name!r}: {exc}") from None
    # The domain's clients and PynamoDB use boto3's default chain: the same profile and region.
    os.environ["AWS_REGION"] = os.environ["AWS_DEFAULT_REGION"] = session.region_name
    if profile:
        os.environ["AWS_PROFILE"] = profile
    boto3.setup_default_session(profile_name=profile, region_name=session.region_name)
    return _bind(
        name=stack_name,
        environment=function["Environment"]["Variables"],
        http_api_url=outputs.get("HttpApiUrl", ""),
        dead_letter_queues=dead_letter_queues,
        session=session,
    )


def _bind(environment: dict[str, str], **fields: Any) -> Target:
    settings = Settings.from_environ(environment)
    # The domain reads its settings from the process environment (get_settings), as in Lambda.
    os.environ.update(environment)
    bind_tables(settings)
    return Target(settings=settings, **fields)
