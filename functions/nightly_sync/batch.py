"""The worker's batch processor: Powertools' own, plus a log line for every failed message."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor

logger = Logger()

# The sync queue's RedrivePolicy maxReceiveCount (template.yaml; tests/infra compares them): a
# message received this many times goes to the DLQ if it fails once more.
MAX_RECEIVES = 3


class LoggedBatchProcessor(BatchProcessor):
    """Every failed message gets a log line (id and error type, never the body), so a malformed
    message is seen before it reaches the DLQ."""

    def failure_handler(self, record: Any, exception: Any) -> Any:
        message_id = (
            record.get("messageId") if isinstance(record, dict) else getattr(record, "message_id", "?")
        )
        error = getattr(exception[0], "__name__", "error")
        logger.warning(
            "sync message failed; SQS delivers it again, then to the DLQ",
            extra={"message_id": message_id, "error": error},
        )
        return super().failure_handler(record, exception)
