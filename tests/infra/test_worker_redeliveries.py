"""The worker fails a run cleanly on a message's last delivery (nightly_sync.worker): the count
it uses must be the sync queue's maxReceiveCount, or a run would go to the DLQ unfinished (a
district left `syncing`) or fail cleanly while SQS would still have delivered it again."""

from __future__ import annotations

from nightly_sync.batch import MAX_RECEIVES
from tests.infra.test_template import TEMPLATE


def test_the_workers_last_delivery_is_the_sync_queues_max_receive_count() -> None:
    queue = TEMPLATE["Resources"]["SyncQueue"]["Properties"]
    assert int(queue["RedrivePolicy"]["maxReceiveCount"]) == MAX_RECEIVES
