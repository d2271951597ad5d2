"""The stream wiring: Kafka source, the two streaming queries, the Cassandra sink, checkpoints, trigger.

Two queries, one per aggregate, in one application: each is one stateful aggregation with its own
checkpoint (offsets, state and commits), so each resumes exactly where it stopped on its own. They read
the topic separately; at this volume that costs less than the alternative of one aggregation whose
output would have to be rolled up again across batches.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from pyspark.errors import StreamingQueryException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery, StreamingQueryListener

from . import transforms
from .progress import ProgressCommitter, group_id, kafka_offset_sink
from .registry import SubjectSchemas, fetch_subject_schemas
from .settings import Settings

log = logging.getLogger(__name__)

#: Query name (also the Cassandra table it writes) → the aggregate that feeds it.
QUERIES: dict[str, Callable[[DataFrame], DataFrame]] = {
    "users_per_minute": transforms.users_per_minute,
    "age_stats_per_minute": transforms.age_stats_per_minute,
}

#: How often the driver rewrites its status file (the stack's health check reads it).
HEARTBEAT_SECONDS = 5
#: How long stopping a query may take once the job failed, before the job exits anyway.
STOP_GRACE_SECONDS = 30


def build_session(settings: Settings) -> SparkSession:
    """The job's session; the master, the jars and the driver's addresses come from spark-submit."""
    return (
        SparkSession.builder.appName("users-aggregates")
        # The number of state partitions is fixed by a query's first checkpoint: changing it later has
        # no effect on that checkpoint. Small, for two cores and a few thousand rows per minute.
        .config("spark.sql.shuffle.partitions", str(settings.shuffle_partitions))
        # Windows, ages and Cassandra timestamps in UTC, whatever the machine's zone.
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.cassandra.connection.host", settings.cassandra_host)
        .config("spark.cassandra.connection.port", str(settings.cassandra_port))
        .config("spark.cassandra.connection.localDC", settings.cassandra_local_dc)
        # A query's stop() waits this long for its micro-batch (one stuck writing to a Cassandra that
        # went away), then gives up, so that a failed job ends instead of hanging alive.
        .config("spark.sql.streaming.stopTimeout", f"{STOP_GRACE_SECONDS}s")
        .getOrCreate()
    )


def read_topic(spark: SparkSession, settings: Settings) -> DataFrame:
    """The users topic as a stream of Kafka records, in bounded micro-batches."""
    return (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", settings.bootstrap_servers)
        .option("subscribe", settings.topic)
        .option("startingOffsets", settings.starting_offsets)
        .option("maxOffsetsPerTrigger", settings.max_offsets_per_trigger)
        .load()
    )


def cassandra_writer(keyspace: str, table: str) -> Callable[[DataFrame, int], None]:
    """A foreachBatch sink that upserts a micro-batch's rows into `keyspace.table`.

    The aggregation runs in update mode, so a batch carries the ABSOLUTE figures of the windows it
    touched: writing them is an idempotent upsert on the primary key. A batch that is replayed after a
    crash (Spark reruns the last batch whose commit was not recorded, with the same offsets and the
    state of the previous batch) rewrites the same rows with the same values.
    """

    def write(batch: DataFrame, batch_id: int) -> None:
        rows = batch.withColumn("computed_at", F.current_timestamp())
        rows.write.format("org.apache.spark.sql.cassandra").mode("append").options(
            keyspace=keyspace, table=table
        ).save()
        log.info("%s: batch %d written", table, batch_id)

    return write


def start_queries(spark: SparkSession, settings: Settings, schemas: SubjectSchemas) -> list[StreamingQuery]:
    """Starts one streaming query per aggregate, each with its own checkpoint under checkpoint_dir."""
    queries = []
    for name, aggregate in QUERIES.items():
        decoded = transforms.decode_events(
            transforms.split_wire_format(read_topic(spark, settings)), schemas.by_id, schemas.latest
        )
        observed = decoded.observe(f"{name}_decode", *transforms.decode_metrics(decoded))
        events = transforms.deduplicated(
            transforms.within_clock_skew(transforms.created_events(observed)), settings.watermark_delay
        )
        writer = (
            aggregate(events)
            .writeStream.queryName(name)
            .outputMode("update")
            .option("checkpointLocation", str(settings.checkpoint_dir / name))
            .foreachBatch(cassandra_writer(settings.keyspace, name))
        )
        if settings.available_now:
            writer = writer.trigger(availableNow=True)
        else:
            writer = writer.trigger(processingTime=settings.trigger_interval)
        queries.append(writer.start())
        log.info("query %s started, checkpoint %s", name, settings.checkpoint_dir / name)
    return queries


class ProgressLog(StreamingQueryListener):
    """Logs each micro-batch: rows read, and the records dropped as not wire format or undecodable."""

    def onQueryStarted(self, event) -> None:
        log.info("query %s (%s) started", event.name, event.id)

    def onQueryProgress(self, event) -> None:
        progress = event.progress
        metrics = progress.observedMetrics.get(f"{progress.name}_decode")
        if progress.numInputRows == 0:
            return
        dropped = ""
        if metrics is not None and (metrics["not_wire_format"] or metrics["undecodable"]):
            dropped = (
                f"; dropped {metrics['not_wire_format']} not in the wire format"
                f" and {metrics['undecodable']} undecodable"
            )
        log.info(
            "%s: batch %d read %d records%s", progress.name, progress.batchId, progress.numInputRows, dropped
        )

    def onQueryIdle(self, event) -> None:
        pass

    def onQueryTerminated(self, event) -> None:
        if event.exception:
            log.error("query %s stopped with an error: %s", event.id, event.exception)
        else:
            log.info("query %s stopped", event.id)


class ProgressCommits(StreamingQueryListener):
    """Mirrors each committed micro-batch's end offsets into its query's Kafka consumer group.

    Spark posts a progress only after the batch's commit is in the checkpoint, so a batch that failed or
    was cut short by a crash is never committed to the group (spark/users_aggregates/progress.py).
    """

    def __init__(self, committer: ProgressCommitter) -> None:
        super().__init__()
        self._committer = committer

    def onQueryStarted(self, event) -> None:
        pass

    def onQueryProgress(self, event) -> None:
        try:
            progress = json.loads(event.progress.json)
        except Exception:  # a progress we cannot read commits nothing; the next one does
            log.warning("could not read a progress event to commit its offsets", exc_info=True)
            return
        self._committer.commit(progress.get("name"), progress)

    def onQueryIdle(self, event) -> None:
        pass

    def onQueryTerminated(self, event) -> None:
        pass


def progress_committer(settings: Settings) -> ProgressCommitter | None:
    """The committer of the queries' consumer groups; None (and a warning) without a Kafka client."""
    try:
        sink = kafka_offset_sink(settings.bootstrap_servers)
    except ImportError:
        log.warning("confluent-kafka is not installed: the queries' progress is not committed to Kafka")
        return None
    groups = ", ".join(group_id(settings.consumer_group_prefix, name) for name in QUERIES)
    log.info("committing each batch's offsets to the consumer groups %s", groups)
    return ProgressCommitter(settings.topic, settings.consumer_group_prefix, sink)


def write_status(spark: SparkSession, status_file: Path) -> None:
    """Writes the driver's view of its queries (atomically): what the stack's health check reads."""
    queries = []
    for query in spark.streams.active:
        progress = query.lastProgress
        queries.append(
            {
                "name": query.name,
                "id": str(query.id),
                "active": query.isActive,
                "lastBatchId": None if progress is None else progress["batchId"],
                "message": query.status["message"],
            }
        )
    body = json.dumps({"pid": os.getpid(), "at": time.time(), "queries": queries})
    partial = status_file.with_suffix(".tmp")
    partial.write_text(body)
    partial.replace(status_file)


def _heartbeat(spark: SparkSession, status_file: Path, stop: threading.Event) -> None:
    while not stop.wait(HEARTBEAT_SECONDS):
        try:
            write_status(spark, status_file)
        except Exception:  # the next beat tries again; a stale file reads as unhealthy
            log.exception("could not write the status file %s", status_file)


def _exit_now(failed: list[str]) -> None:
    log.error("queries failed (%s) and the job did not stop in time: exiting", ", ".join(failed))
    logging.shutdown()
    os._exit(1)


def run(settings: Settings) -> int:
    """Runs the job until its queries stop (available-now) or fail; returns the process's exit code."""
    schemas = fetch_subject_schemas(settings.registry_url, settings.subject)
    spark = build_session(settings)
    spark.sparkContext.setLogLevel("WARN")
    spark.streams.addListener(ProgressLog())
    committer = progress_committer(settings)
    if committer is not None:
        spark.streams.addListener(ProgressCommits(committer))
    queries = start_queries(spark, settings, schemas)
    stop = threading.Event()
    if settings.status_file is not None:
        settings.status_file.parent.mkdir(parents=True, exist_ok=True)
        write_status(spark, settings.status_file)
        threading.Thread(
            target=_heartbeat, args=(spark, settings.status_file, stop), name="status", daemon=True
        ).start()
    try:
        # Any query failing ends the job (non-zero). Nothing restarts it by itself in the native stack:
        # `npm run stack -- status` shows it down and `npm run stack -- up` starts it again, from its
        # checkpoint (docker-compose restarts it on failure).
        while any(q.isActive for q in queries) and all(q.exception() is None for q in queries):
            try:
                spark.streams.awaitAnyTermination(timeout=HEARTBEAT_SECONDS)
            except StreamingQueryException:
                break
            spark.streams.resetTerminated()
    finally:
        stop.set()
    failed = [query.name for query in queries if query.exception() is not None]
    if failed:
        # Seen with a Cassandra killed mid-batch: one query failed, the other's batch kept retrying, and
        # stopping it blocked, so the driver lived on with no query running, unhealthy and never
        # restarted. A failed job must end: whatever still runs after the grace is cut short. The
        # checkpoint makes that safe (the sink's rows are absolute values, rewritten on replay).
        watchdog = threading.Timer(2 * STOP_GRACE_SECONDS, _exit_now, args=(failed,))
        watchdog.daemon = True
        watchdog.start()
    for query in queries:
        if query.isActive:
            query.stop()
        # The listener runs behind the queries: the job may end before it saw the last batch. A query's
        # last progress is that of its last committed batch, also when a later one failed.
        if committer is not None:
            committer.commit(query.name, query.lastProgress)
    if failed:
        log.error("queries failed: %s", ", ".join(failed))
        return 1
    log.info("all queries finished")
    return 0
