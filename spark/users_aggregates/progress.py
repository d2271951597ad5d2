"""Each query's progress as a Kafka consumer group, so that Kafka tools (and the console) see the job.

Spark's Kafka source keeps its offsets in the checkpoint and never commits them to Kafka: a tool that
reads consumer groups (committed offsets, lag) sees nothing of the job. After each micro-batch has
committed, the job therefore commits the batch's end offsets (the next offset to read, per partition)
to one group per query, `<prefix>-<query name>`. The checkpoint stays the only truth Spark resumes
from; the groups only mirror it, at most one batch behind. Nobody is a member of these groups (an
empty group may have its offsets committed), so a commit never rebalances anything.

A commit that fails is logged and skipped: the next progress commits again, and the stream never
stops for it.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from typing import Any, Protocol

log = logging.getLogger(__name__)

#: How long one commit may take before it counts as failed (the next progress tries again).
COMMIT_TIMEOUT_SECONDS = 10.0


def group_id(prefix: str, query_name: str) -> str:
    """The consumer group that mirrors one query's progress (infra/pipeline/resources.ts names the same)."""
    return f"{prefix}-{query_name}"


def end_offsets(progress: Mapping[str, Any], topic: str) -> dict[int, int]:
    """`topic`'s partition → next offset to read, from a progress's sources; {} when it has none.

    `progress` is a StreamingQueryProgress as JSON (`query.lastProgress`, or `json.loads(progress.json)`
    in a listener). Spark writes a Kafka source's endOffset as `{"<topic>": {"<partition>": offset}}`,
    embedded as an object (or, from some APIs, as that JSON in a string). Other topics, and a source
    without an endOffset, contribute nothing.
    """
    offsets: dict[int, int] = {}
    for source in progress.get("sources") or []:
        end = source.get("endOffset") if isinstance(source, Mapping) else None
        if isinstance(end, str):
            try:
                end = json.loads(end)
            except ValueError:
                continue
        partitions = end.get(topic) if isinstance(end, Mapping) else None
        if not isinstance(partitions, Mapping):
            continue
        for partition, offset in partitions.items():
            # -2 and -1 (earliest, latest) are sentinels of starting offsets, never a position.
            if isinstance(offset, int) and offset >= 0 and str(partition).isdigit():
                offsets[int(partition)] = max(offset, offsets.get(int(partition), 0))
    return offsets


class OffsetSink(Protocol):
    """Commits offsets of `topic` to group `group`; raises on failure."""

    def __call__(self, group: str, topic: str, offsets: Mapping[int, int]) -> None: ...


def kafka_offset_sink(bootstrap_servers: str) -> OffsetSink:
    """An OffsetSink on confluent-kafka's AdminClient (alter_consumer_group_offsets).

    The admin API commits to a group that has no members, which is what these groups are (a consumer
    would have to join the group, or hold its generation). Raises ImportError without confluent-kafka
    (spark/requirements.txt installs it; the compose stack's stock Spark image has none).
    """
    from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
    from confluent_kafka.admin import AdminClient

    admin = AdminClient(
        {
            "bootstrap.servers": bootstrap_servers,
            "client.id": "users-aggregates-progress",
            # The broker closes the connection of a quiet job every few minutes: not worth a log line.
            "log.connection.close": False,
        }
    )

    def commit(group: str, topic: str, offsets: Mapping[int, int]) -> None:
        request = ConsumerGroupTopicPartitions(
            group, [TopicPartition(topic, partition, offset) for partition, offset in sorted(offsets.items())]
        )
        futures = admin.alter_consumer_group_offsets([request], request_timeout=COMMIT_TIMEOUT_SECONDS)
        for future in futures.values():
            result = future.result(timeout=COMMIT_TIMEOUT_SECONDS + 5)
            failed = [tp for tp in result.topic_partitions if tp.error is not None]
            if failed:
                raise RuntimeError(", ".join(f"partition {tp.partition}: {tp.error}" for tp in failed))

    return commit


class ProgressCommitter:
    """Commits each query's end offsets to its group; never raises, never moves a group back.

    Called from the listener (Spark's listener thread, after each batch) and once more when the queries
    end (the listener is asynchronous, and the job may exit before it sees the last batch). Progress
    events can therefore arrive after a later batch was committed: per group, an offset lower than one
    already committed by this process is not committed again.
    """

    def __init__(self, topic: str, prefix: str, sink: OffsetSink) -> None:
        self._topic = topic
        self._prefix = prefix
        self._sink = sink
        self._committed: dict[str, dict[int, int]] = {}
        self._lock = threading.Lock()

    def commit(self, query_name: str | None, progress: Mapping[str, Any] | None) -> bool:
        """Commits `progress`'s end offsets; True when something new was committed."""
        if query_name is None or progress is None:
            return False
        offsets = end_offsets(progress, self._topic)
        if not offsets:
            return False
        group = group_id(self._prefix, query_name)
        with self._lock:
            done = self._committed.get(group, {})
            if all(done.get(partition, -1) >= offset for partition, offset in offsets.items()):
                return False
            merged = {**done, **{p: max(o, done.get(p, -1)) for p, o in offsets.items()}}
            try:
                self._sink(group, self._topic, merged)
            except Exception as error:  # the next progress commits again
                # The error is Kafka's (broker, group, partition): it carries no record content.
                log.warning(
                    "could not commit batch %s's offsets to consumer group %s: %s",
                    progress.get("batchId"),
                    group,
                    error,
                )
                return False
            self._committed[group] = merged
            return True
