"""Starts moto server, provisions template.yaml into it and wires the template's events to the
real handlers. Used by `python -m local_stack` and by the integration and e2e tests."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from moto.server import ThreadedMotoServer

from local_stack import moto_partition_query, moto_speedups
from local_stack.app_page import AppServer
from local_stack.cors import CorsRules
from local_stack.delivery import AsyncInvoker, ScheduleSource, SnsSource, SqsSource
from local_stack.functions import Invocation, LocalFunction, load_functions, sqs_maximum_concurrency
from local_stack.gateway import HttpGateway, Route
from local_stack.lambda_events import ACCOUNT_ID
from local_stack.provision import Provisioner
from local_stack.sigv4 import IamAuthorizer
from local_stack.template import Resolver, function_environment, load_template

REGION = "us-east-1"
# How long an idle stack waits before it looks at everything again (run_forever).
IDLE_SECONDS = 20.0
MAX_LONG_POLL_SECONDS = 20  # SQS's longest WaitTimeSeconds
REPORT_SENDER = "reports@smartpass.local"
# moto accepts any credentials; these exist so botocore never looks for real ones.
LOCAL_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    # X-Ray has no daemon here; everything else in Powertools runs as in Lambda.
    "POWERTOOLS_TRACE_DISABLED": "true",
    # oauthlib refuses http; the sandbox is http on loopback (settings allow http only there).
    "OAUTHLIB_INSECURE_TRANSPORT": "1",
}


@dataclass
class ClassLinkEndpoints:
    """Where ClassLink is (the sandbox locally) and the secrets an operator would store."""

    partner_api_url: str
    oneroster_proxy_url: str
    launchpad_url: str
    nodeapi_url: str
    partner_api_key: str
    sso_client_id: str
    sso_client_secret: str


def _new_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@dataclass
class LocalStack:
    classlink: ClassLinkEndpoints
    prefix: str = "smartpass-local"
    # The HTTP API's port (0: a free one). A fixed port gives a redirect URI that can be
    # registered with another ClassLink before the stack starts.
    http_port: int = 0
    parameters: dict[str, str] = field(default_factory=dict)
    aws_endpoint: str = ""
    functions: dict[str, LocalFunction] = field(default_factory=dict)
    schedules: dict[str, ScheduleSource] = field(default_factory=dict)
    sqs_sources: list[SqsSource] = field(default_factory=list)
    sns_sources: list[SnsSource] = field(default_factory=list)
    created: dict[str, str] = field(default_factory=dict)
    physical: dict[str, dict[str, str]] = field(default_factory=dict)  # logical id -> Ref/attributes
    environment: dict[str, str] = field(default_factory=dict)
    gateway: HttpGateway | None = None
    app: AppServer | None = None  # the stand-in SmartPass app, on an origin of its own
    invoker: AsyncInvoker | None = None
    # True while run_forever waits with nothing in hand (a stop may interrupt it at once).
    waiting: bool = False
    _moto: ThreadedMotoServer | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> LocalStack:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # per-request lines of moto server
        moto_speedups.install()
        moto_partition_query.install()
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._moto.start()
        host, port = self._moto.get_host_and_port()
        self.aws_endpoint = f"http://{host}:{port}"
        os.environ.update(LOCAL_AWS_ENV)
        os.environ["AWS_ENDPOINT_URL"] = self.aws_endpoint

        # The HTTP API's address first: the redirect URI registered with ClassLink is a setting,
        # as SsoRedirectUri is in AWS, not something read from request headers.
        self.gateway = HttpGateway([], port=self.http_port)
        self.app = AppServer(self.gateway.url)
        template = load_template()
        resolver = Resolver(template, REGION, self._parameters())
        self.created = Provisioner(template, resolver, self.client, self.prefix).provision()
        self.physical = resolver.physical
        self.functions = load_functions(template, resolver)
        api = next(r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::HttpApi")
        self.gateway.cors = CorsRules.from_template(
            resolver.resolve(api["Properties"].get("CorsConfiguration"))
        )
        self.environment = self._lambda_environment(template, resolver)
        os.environ.update(self.environment)
        self._store_secrets()
        self.client("ses").verify_email_identity(EmailAddress=self.environment["REPORT_SENDER_EMAIL"])
        self._wire_events()
        assert self.gateway is not None
        self.gateway.start()
        self.app.start()
        return self

    def request_stop(self) -> None:
        self._stop.set()

    def stop(self) -> None:
        self._stop.set()
        if self.gateway:
            self.gateway.stop()
        if self.app:
            self.app.stop()
        if self._moto:
            self._moto.stop()

    # ------------------------------------------------------------------ set-up
    def _parameters(self) -> dict[str, str]:
        """Template parameters for this machine; `parameters` overrides any of them. The rest
        (SyncWorkerConcurrency among them) keep the template's defaults."""
        return {
            "Stage": "local",
            "TableDeletionProtection": "false",
            # Retries of a 429/5xx from the sandbox back off from 0.05 s instead of 1 s.
            "OneRosterBackoffSeconds": "0.05",
            "ClassLinkPartnerApiUrl": self.classlink.partner_api_url,
            "ClassLinkOneRosterProxyUrl": self.classlink.oneroster_proxy_url,
            "ClassLinkLaunchPadUrl": self.classlink.launchpad_url,
            "ClassLinkNodeApiUrl": self.classlink.nodeapi_url,
            # The app on its own origin (same site): its login-code exchange is a credentialed
            # cross-origin request, as in AWS, so CORS and the code's cookie are tested for real.
            "SmartPassAppUrl": self.app.url if self.app else "http://127.0.0.1/app",
            "SmartPassAppOrigin": self.app.origin if self.app else "http://127.0.0.1",
            "SsoRedirectUri": f"{self.gateway.url}/sso/classlink/callback" if self.gateway else "",
            # District reports go out by SES from this sender (verified at start, as an operator
            # verifies the identity once in AWS).
            "ReportSenderEmail": REPORT_SENDER,
            **self.parameters,
        }

    def _lambda_environment(self, template: Mapping[str, Any], resolver: Resolver) -> dict[str, str]:
        environments = {lid: function_environment(template, resolver, lid) for lid in self.functions}
        distinct = {json.dumps(env, sort_keys=True) for env in environments.values()}
        # All functions run in this one process, so they must agree on the environment.
        if len(distinct) > 1:
            raise RuntimeError("functions declare different environments; the local stack shares one process")
        return next(iter(environments.values()))

    def ref(self, logical_id: str) -> str:
        """What `!Ref <logical_id>` resolved to locally (table name, queue URL, topic ARN...)."""
        return self.physical[logical_id]["Ref"]

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.aws_endpoint, region_name=REGION)

    def _store_secrets(self) -> None:
        secrets = self.client("secretsmanager")
        values = {
            "PARTNER_API_KEY_SECRET_ID": {"api_key": self.classlink.partner_api_key},
            "SSO_CLIENT_SECRET_ID": {
                "client_id": self.classlink.sso_client_id,
                "client_secret": self.classlink.sso_client_secret,
            },
            # Two keys, as an operator makes them before the first deploy (docs/deploy.md).
            "SESSION_SIGNING_KEY_SECRET_ID": {"kid": "local-1", "private_key_pem": _new_key_pem()},
            "DISTRICT_LINK_SIGNING_KEY_SECRET_ID": {"kid": "link-1", "private_key_pem": _new_key_pem()},
        }
        for env_name, value in values.items():
            secrets.put_secret_value(SecretId=self.environment[env_name], SecretString=json.dumps(value))

    def _wire_events(self) -> None:
        sqs, sns = self.client("sqs"), self.client("sns")
        invoker = self.invoker = AsyncInvoker(sqs)
        # AWS_IAM routes accept requests signed with the local credentials, as IAM would accept
        # an operator's: the secret is known here, so the signature is checked for real.
        iam = IamAuthorizer(
            access_key=LOCAL_AWS_ENV["AWS_ACCESS_KEY_ID"],
            secret_key=LOCAL_AWS_ENV["AWS_SECRET_ACCESS_KEY"],
            session_token=LOCAL_AWS_ENV["AWS_SESSION_TOKEN"],
            region=REGION,
            account_id=ACCOUNT_ID,
        )
        routes: list[Route] = []
        for function in self.functions.values():
            for name, spec in function.events.items():
                props = spec.get("Properties", {})
                kind = spec["Type"]
                if kind == "ScheduleV2":
                    self.schedules[f"{function.logical_id}.{name}"] = ScheduleSource(
                        function, invoker, name, props.get("Input", "{}"), props["ScheduleExpression"]
                    )
                elif kind == "SQS":
                    arn = props["Queue"]
                    self.sqs_sources.append(
                        SqsSource(
                            function,
                            sqs,
                            sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[1])["QueueUrl"],
                            arn,
                            int(props.get("BatchSize", 10)),
                            "ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
                            max_concurrency=sqs_maximum_concurrency(spec) or 1,
                        )
                    )
                elif kind == "SNS":
                    queue_name = f"{self.prefix}-sns-{function.logical_id}-{name}"
                    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
                    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                        "QueueArn"
                    ]
                    sub = sns.subscribe(TopicArn=props["Topic"], Protocol="sqs", Endpoint=arn)[
                        "SubscriptionArn"
                    ]
                    self.sns_sources.append(SnsSource(function, invoker, sqs, url, sub))
                elif kind == "HttpApi":
                    authorizer = props.get("Auth", {}).get("Authorizer")
                    if authorizer not in (None, "AWS_IAM"):
                        raise RuntimeError(
                            f"authorizer {authorizer} of {function.logical_id} is not wired locally"
                        )
                    route = Route(
                        props["Method"].upper(), props["Path"], function, iam if authorizer else None
                    )
                    routes.append(route)
                else:
                    raise RuntimeError(f"event type {kind} of {function.logical_id} is not wired locally")
        assert self.gateway is not None
        self.gateway.routes = routes

    def reset_counters(self) -> None:
        """Zero every delivery counter and function statistic, forget tracked SQS receipts and
        put back the template's function timeouts (what a test may have changed)."""
        for function in self.functions.values():
            function.reset()
        for source in self.sqs_sources:
            source.reset()
        for sns_source in self.sns_sources:
            sns_source.delivered = 0
        for schedule in self.schedules.values():
            schedule.fired = 0
        if self.invoker:
            self.invoker.failures_sent = 0

    # ------------------------------------------------------------------ running
    def fire(self, schedule_name: str) -> Any:
        return self.schedules[schedule_name].fire()

    def drain(self, timeout_seconds: float = 30.0) -> int:
        """Deliver queued SQS and SNS messages until every source is empty (or the timeout)."""
        delivered = 0
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            round_count = sum(s.poll() for s in self.sqs_sources) + sum(s.poll() for s in self.sns_sources)
            delivered += round_count
            if round_count == 0:
                return delivered
        return delivered

    def run_forever(
        self,
        intervals: Mapping[str, float],
        fire_at_start: Iterable[str] = (),
        on_progress: Callable[[], object] = lambda: None,
        on_fire: Callable[[str, Invocation], object] = lambda name, outcome: None,
        idle_seconds: float = IDLE_SECONDS,
    ) -> None:
        """Fire each schedule every `intervals[name]` seconds (those in `fire_at_start` once at
        start too, and `on_fire` after each), keep delivering queued messages, and call
        `on_progress` after each round.

        With nothing to deliver it waits on the SQS queue's long poll (WaitTimeSeconds, which
        moto answers the moment a message arrives) until the next schedule is due, at most
        `idle_seconds`: an idle stack makes a handful of requests per wait instead of several
        every second (what `make run` cost at rest). What reaches the stack otherwise (an SNS
        message, an operator's pause from smartpass-ops) is seen at the end of the wait."""
        now = time.monotonic()
        starters = set(fire_at_start)
        due = {name: now if name in starters else now + seconds for name, seconds in intervals.items()}
        while not self._stop.is_set():
            for name, at in due.items():
                if time.monotonic() >= at:
                    on_fire(name, self.schedules[name].fire())
                    due[name] = time.monotonic() + intervals[name]
            delivered = self.drain(timeout_seconds=5.0)
            on_progress()
            if delivered == 0 and not self._stop.is_set():
                next_due = min(due.values(), default=time.monotonic() + idle_seconds)
                self._wait_for_work(min(next_due - time.monotonic(), idle_seconds))

    def _wait_for_work(self, seconds: float) -> None:
        """Wait up to `seconds` for a message on the SQS source's queue (delivering it), or stop."""
        self.waiting = True
        try:
            whole = min(int(seconds), MAX_LONG_POLL_SECONDS)
            if len(self.sqs_sources) == 1 and whole >= 1:
                self.sqs_sources[0].poll(wait_seconds=whole)
            else:
                self._stop.wait(max(seconds, 0.0))
        finally:
            self.waiting = False

    def describe(self) -> dict[str, Any]:
        assert self.gateway is not None
        return {
            "http_api_url": self.gateway.url,
            "aws_endpoint_url": self.aws_endpoint,
            "region": REGION,
            "sso_launch_url": f"{self.gateway.url}/sso/classlink/launch",
            "sso_redirect_uri": self.environment["SSO_REDIRECT_URI"],
            "app_url": self.environment["SMARTPASS_APP_URL"],
            "tables": {k: v for k, v in self.environment.items() if k.endswith("_TABLE")},
            "sync_queue_url": self.environment["SYNC_QUEUE_URL"],
            "dead_letter_queues": {
                "sync": self.ref("SyncDeadLetterQueue"),
                "schedule": self.ref("ScheduleDeadLetterQueue"),
            },
            "schedules": sorted(self.schedules),
        }
