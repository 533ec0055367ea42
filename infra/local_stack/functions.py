"""The template's functions, invoked in this process the way the Lambda runtime would."""

from __future__ import annotations

import importlib
import threading
import traceback
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from local_stack.lambda_events import LocalLambdaContext
from local_stack.template import Resolver, function_property, resources_of_type


@dataclass
class Invocation:
    ok: bool
    result: Any = None
    error: str | None = None


@dataclass
class LocalFunction:
    logical_id: str
    physical_name: str
    handler_path: str
    timeout_seconds: int
    memory_mb: int
    region: str
    events: dict[str, dict[str, Any]]
    # EventInvokeConfig: retries of an asynchronous invocation, then where the failure goes.
    max_async_retries: int = 2
    on_failure_arn: str | None = None
    _handler: Callable[[Any, Any], Any] | None = None
    # One instance per function, as with reserved concurrency 1: keeps module globals sane.
    _lock: threading.Lock = field(default_factory=threading.Lock)
    stats: Counter[str] = field(default_factory=Counter)

    def handler(self) -> Callable[[Any, Any], Any]:
        if self._handler is None:
            module_name, attr = self.handler_path.rsplit(".", 1)
            self._handler = getattr(importlib.import_module(module_name), attr)
        return self._handler

    def invoke(self, event: Any, kind: str) -> Invocation:
        with self._lock:
            context = LocalLambdaContext(
                self.physical_name, self.timeout_seconds, self.memory_mb, self.region
            )
            try:
                result = self.handler()(event, context)
            except Exception as exc:  # the runtime reports any exception as a failed invocation
                self.stats[f"{kind}:error"] += 1
                return Invocation(ok=False, error=f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
            self.stats[f"{kind}:ok"] += 1
            return Invocation(ok=True, result=result)


def load_functions(template: Mapping[str, Any], resolver: Resolver) -> dict[str, LocalFunction]:
    functions = {}
    for logical_id, resource in resources_of_type(template, "AWS::Serverless::Function").items():
        props = resource.get("Properties", {})
        invoke_config = resolver.resolve(props.get("EventInvokeConfig", {}))
        functions[logical_id] = LocalFunction(
            logical_id=logical_id,
            physical_name=resolver.ref(logical_id),
            handler_path=function_property(template, logical_id, "Handler"),
            timeout_seconds=int(function_property(template, logical_id, "Timeout") or 3),
            memory_mb=int(function_property(template, logical_id, "MemorySize") or 128),
            region=resolver.region,
            events={name: resolver.resolve(spec) for name, spec in props.get("Events", {}).items()},
            max_async_retries=int(invoke_config.get("MaximumRetryAttempts", 2)),
            on_failure_arn=invoke_config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination"),
        )
    return functions
