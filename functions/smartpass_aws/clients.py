"""boto3 clients, created on first use and cached for the life of the process.

Nothing is created at import, so tests and the local stack can set AWS_ENDPOINT_URL (moto
server) before the first call; in Lambda the same calls reach AWS.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import boto3

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


@functools.cache
def sqs() -> SQSClient:
    return boto3.client("sqs")


@functools.cache
def sns() -> Any:
    return boto3.client("sns")


@functools.cache
def ses() -> Any:
    return boto3.client("ses")


@functools.cache
def secretsmanager() -> Any:
    return boto3.client("secretsmanager")


@functools.cache
def ssm() -> Any:
    return boto3.client("ssm")
