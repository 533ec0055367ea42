"""The template's functions, invoked in this process the way the Lambda runtime would.

Concurrency. In Lambda each concurrent invocation has an execution environment of its own: a
separate process with its own module globals, running one invocation at a time. Here a function
whose SQS event sets `ScalingConfig.MaximumConcurrency` runs up to that many invocations at once,
on threads; every other function runs one invocation at a time. Each running invocation holds an
*instance*: its own import of the handler module (instance 0 is the ordinary import in
`sys.modules`, further ones are fresh copies), so the handler file's globals (Powertools'
BatchProcessor and its records, the IdempotencyConfig with its registered context, the
Logger/Metrics/Tracer objects) belong to one invocation at a time, and a warm instance is reused.

What threads still share here, unlike Lambda's processes:
- everything the handler imports: `smartpass` (settings, PynamoDB connections), boto3 clients;
- Powertools' process-wide state: all Metrics objects share one metric set, so one invocation's
  flush may carry another's metrics (and a metric added during a flush can break that flush);
  Logger objects of one service share a formatter, so appended keys such as the request id can
  show up on another thread's log lines; the cold-start flag flips once per process, not per
  instance; the Parameters cache is one cache.
A test that patches a handler module's global patches instance 0, which is the one used while
invocations come one at a time.
"""

from __future__ import annotations

import importlib
import importlib.util
import threading
import traceback
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from local_stack.lambda_events import LocalLambdaContext
from local_stack.template import Resolver, function_property, resources_of_type


@dataclass
class Invocation:
    ok: bool
    result: Any = None
    error: str | None = None


@dataclass
class FunctionInstance:
    """One execution environment: a loaded handler module, used by one invocation at a time."""

    number: int
    module: ModuleType
    handler: Callable[[Any, Any], Any]


def _import_afresh(module_name: str) -> ModuleType:
    """A second copy of a module (its own globals), without replacing the one in sys.modules."""
    spec = importlib.util.find_spec(module_name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(module_name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class LocalFunction:
    logical_id: str
    physical_name: str
    handler_path: str
    # The Timeout each invocation's context counts down from. A test may change it for itself
    # (the stack fixture puts back `template_timeout_seconds`).
    timeout_seconds: int
    memory_mb: int
    region: str
    events: dict[str, dict[str, Any]]
    # EventInvokeConfig: retries of an asynchronous invocation, then where the failure goes.
    max_async_retries: int = 2
    on_failure_arn: str | None = None
    # How many invocations may run at once (see the module docstring).
    max_concurrency: int = 1
    stats: Counter[str] = field(default_factory=Counter)
    peak_concurrency: int = 0  # most invocations seen running at once
    template_timeout_seconds: int = field(init=False)
    _slots: threading.BoundedSemaphore = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _idle: list[FunctionInstance] = field(default_factory=list)
    _free_numbers: list[int] = field(default_factory=list)
    _next_number: int = 0
    _running: int = 0

    def __post_init__(self) -> None:
        self.template_timeout_seconds = self.timeout_seconds
        self._slots = threading.BoundedSemaphore(self.max_concurrency)

    @property
    def instances(self) -> int:
        """Instances started so far (cold starts), like Lambda's concurrent executions."""
        with self._lock:
            return self._next_number - len(self._free_numbers)

    def handler(self) -> Callable[[Any, Any], Any]:
        """The handler of instance 0 (the module in sys.modules)."""
        module_name, attr = self.handler_path.rsplit(".", 1)
        handler: Callable[[Any, Any], Any] = getattr(importlib.import_module(module_name), attr)
        return handler

    def invoke(self, event: Any, kind: str) -> Invocation:
        with self._slots:
            with self._lock:
                self._running += 1
                self.peak_concurrency = max(self.peak_concurrency, self._running)
            instance: FunctionInstance | None = None
            try:
                instance = self._take_instance()
                # A context per invocation: its remaining time counts down from the Timeout.
                context = LocalLambdaContext(
                    self.physical_name, self.timeout_seconds, self.memory_mb, self.region
                )
                result = instance.handler(event, context)
            except Exception as exc:  # the runtime reports any exception as a failed invocation
                outcome = Invocation(ok=False, error=f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
            else:
                outcome = Invocation(ok=True, result=result)
            finally:
                with self._lock:
                    self._running -= 1
                    if instance is not None:
                        self._idle.append(instance)
            with self._lock:
                self.stats[f"{kind}:{'ok' if outcome.ok else 'error'}"] += 1
            return outcome

    def reset(self) -> None:
        """Forget counters and put the template's Timeout back; warm instances stay warm."""
        with self._lock:
            self.stats.clear()
            self.peak_concurrency = 0
            self.timeout_seconds = self.template_timeout_seconds

    def _take_instance(self) -> FunctionInstance:
        with self._lock:
            if self._idle:
                # The lowest-numbered idle instance, so one-at-a-time traffic always uses instance 0.
                instance = min(self._idle, key=lambda i: i.number)
                self._idle.remove(instance)
                return instance
            if self._free_numbers:
                number = min(self._free_numbers)
                self._free_numbers.remove(number)
            else:
                number = self._next_number
                self._next_number += 1
        module_name, attr = self.handler_path.rsplit(".", 1)
        try:  # a cold start: an import that fails is a failed invocation, as in Lambda
            module = importlib.import_module(module_name) if number == 0 else _import_afresh(module_name)
            return FunctionInstance(number, module, getattr(module, attr))
        except BaseException:
            with self._lock:
                self._free_numbers.append(number)
            raise


def sqs_maximum_concurrency(event: Mapping[str, Any]) -> int | None:
    """ScalingConfig.MaximumConcurrency of a resolved SQS event, if it sets one."""
    if event.get("Type") != "SQS":
        return None
    limit = event.get("Properties", {}).get("ScalingConfig", {}).get("MaximumConcurrency")
    return None if limit is None else int(limit)


def load_functions(template: Mapping[str, Any], resolver: Resolver) -> dict[str, LocalFunction]:
    functions = {}
    for logical_id, resource in resources_of_type(template, "AWS::Serverless::Function").items():
        props = resource.get("Properties", {})
        invoke_config = resolver.resolve(props.get("EventInvokeConfig", {}))
        events = {name: resolver.resolve(spec) for name, spec in props.get("Events", {}).items()}
        # Each SQS event source mapping is capped separately, so the function's cap is their sum.
        limits = [limit for e in events.values() if (limit := sqs_maximum_concurrency(e)) is not None]
        concurrency = sum(limits) if limits else 1
        # ReservedConcurrentExecutions caps everything (the poll and the fan-out have 1).
        reserved = props.get("ReservedConcurrentExecutions")
        if reserved is not None:
            concurrency = min(concurrency, int(resolver.resolve(reserved)))
        functions[logical_id] = LocalFunction(
            logical_id=logical_id,
            physical_name=resolver.ref(logical_id),
            handler_path=function_property(template, logical_id, "Handler"),
            timeout_seconds=int(function_property(template, logical_id, "Timeout") or 3),
            memory_mb=int(function_property(template, logical_id, "MemorySize") or 128),
            region=resolver.region,
            events=events,
            max_async_retries=int(invoke_config.get("MaximumRetryAttempts", 2)),
            on_failure_arn=invoke_config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination"),
            max_concurrency=concurrency,
        )
    return functions
