"""Pure DataFrame → DataFrame transforms of the job: no source, sink, checkpoint or trigger here.

They work the same on a batch DataFrame (the tests) and on the stream (stream.py): from Kafka records in
the Confluent wire format to the two windowed aggregates.
"""

from __future__ import annotations

from collections.abc import Mapping

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.avro.functions import from_avro

#: The only event that counts a user: updates re-announce a user already counted.
CREATED = "user.created"

#: Tumbling windows of event time (the event's updated_at).
WINDOW = "1 minute"

#: How far an event's updated_at may be ahead of the micro-batch's clock. The watermark follows the
#: latest event time seen, so one event from the future (a skewed clock, a hand-made test event) would
#: make every real event after it "late" and silently uncounted, for as long as the checkpoint lives.
MAX_CLOCK_SKEW = "5 minutes"

#: The Confluent wire format's header: magic byte 0, then the schema id as a big-endian int32.
HEADER_BYTES = 5

#: The event fields the aggregates need (the rest of the user stays in Kafka and the users table).
EVENT_FIELDS = (
    "event_id",
    "event_type",
    "user_key",
    "version",
    "updated_at",
    "country",
    "gender",
    "date_of_birth",
)


def split_wire_format(records: DataFrame) -> DataFrame:
    """Adds `wire_format` (magic byte 0 and a body after the header), `schema_id` and `body` to Kafka records.

    `schema_id` and `body` are null where the value is not in the wire format.
    """
    value = F.col("value")
    wire = (
        value.isNotNull()
        & (F.length(value) > HEADER_BYTES)
        & (F.hex(F.substring(value, 1, 1)) == F.lit("00"))
    )
    schema_id = F.conv(F.hex(F.substring(value, 2, 4)), 16, 10).cast("long")
    body = value.substr(F.lit(HEADER_BYTES + 1), F.length(value) - HEADER_BYTES)
    return records.select(
        "*",
        wire.alias("wire_format"),
        F.when(wire, schema_id).alias("schema_id"),
        F.when(wire, body).alias("body"),
    )


def decode_events(records: DataFrame, writer_schemas: Mapping[int, str], reader_schema: str) -> DataFrame:
    """Decodes `body` with the writer schema of each row's own `schema_id`, into the reader's shape.

    Adds `event` (a struct in the latest schema's shape): null for a row that is not in the wire format or
    whose schema id the subject does not know, and a struct of nulls (PERMISSIVE) for bytes that are not
    valid Avro for their schema. `decoded` tells the good rows apart.
    """
    options = {"mode": "PERMISSIVE", "avroSchema": reader_schema}
    branches = [
        F.when(F.col("schema_id") == F.lit(schema_id), from_avro(F.col("body"), writer, options))
        for schema_id, writer in sorted(writer_schemas.items())
    ]
    event = F.coalesce(*branches) if len(branches) > 1 else branches[0]
    event = F.when(F.col("wire_format"), event)
    # event_id is a required field: PERMISSIVE mode yields a struct of nulls for a body it cannot read.
    return records.select("*", event.alias("event")).withColumn(
        "decoded", F.coalesce(F.col("event.event_id").isNotNull(), F.lit(False))
    )


def decode_metrics(decoded: DataFrame) -> list[Column]:
    """The counts each micro-batch reports (DataFrame.observe): records, not wire format, undecodable."""
    return [
        F.count(F.lit(1)).alias("records"),
        F.sum(F.when(~F.col("wire_format"), 1).otherwise(0)).alias("not_wire_format"),
        F.sum(F.when(F.col("wire_format") & ~F.col("decoded"), 1).otherwise(0)).alias("undecodable"),
    ]


def created_events(decoded: DataFrame) -> DataFrame:
    """The decoded `user.created` events, flattened to the fields the aggregates use."""
    return decoded.where(F.col("decoded") & (F.col("event.event_type") == F.lit(CREATED))).select(
        *(F.col(f"event.{field}").alias(field) for field in EVENT_FIELDS)
    )


def within_clock_skew(
    events: DataFrame, now: Column | None = None, max_skew: str = MAX_CLOCK_SKEW
) -> DataFrame:
    """Drops events whose updated_at is more than `max_skew` ahead of `now`, before they reach the watermark.

    `now` defaults to current_timestamp(), which on a stream is the micro-batch's own timestamp, kept in
    the checkpoint's offset log: a replayed micro-batch drops exactly the same events.
    """
    limit = (F.current_timestamp() if now is None else now) + F.expr(f"INTERVAL {max_skew}")
    return events.where(F.col("updated_at") <= limit)


def deduplicated(events: DataFrame, watermark_delay: str) -> DataFrame:
    """One event per user key within the watermark (delivery is at least once), event time `updated_at`.

    On a stream, the state of a key is kept until the watermark (the latest updated_at seen, less the
    delay) passes its event time; a copy arriving after that is older than the watermark, so it is
    dropped as late anyway. A batch DataFrame (Spark refuses the watermark variant there) is deduplicated
    outright.
    """
    if not events.isStreaming:
        return events.dropDuplicates(["user_key"])
    return events.withWatermark("updated_at", watermark_delay).dropDuplicatesWithinWatermark(["user_key"])


def age_years(born: Column, at: Column) -> Column:
    """Whole years from `born` to `at`: the calendar difference, less one before this year's birthday.

    Compares month, day and time of day (in the session time zone, UTC in the job), as PostgreSQL's age().
    """
    pattern = "MMddHHmmssSSS"
    before_birthday = F.date_format(at, pattern) < F.date_format(born, pattern)
    return (F.year(at) - F.year(born) - F.when(before_birthday, 1).otherwise(0)).cast("int")


def users_per_minute(events: DataFrame) -> DataFrame:
    """Users per country and gender per one-minute window of updated_at."""
    return (
        events.groupBy(F.window("updated_at", WINDOW), "country", "gender")
        .agg(F.count(F.lit(1)).alias("users"))
        .select(F.col("window.start").alias("window_start"), "country", "gender", "users")
    )


def age_stats_per_minute(events: DataFrame) -> DataFrame:
    """Age statistics per country per one-minute window: count, min, max, sum and mean of the ages."""
    return (
        events.withColumn("age", age_years(F.col("date_of_birth"), F.col("updated_at")))
        .groupBy(F.window("updated_at", WINDOW), "country")
        .agg(
            F.count(F.lit(1)).alias("users"),
            F.min("age").alias("age_min"),
            F.max("age").alias("age_max"),
            F.sum("age").cast("long").alias("age_sum"),
        )
        .select(
            F.col("window.start").alias("window_start"),
            "country",
            "users",
            "age_min",
            "age_max",
            "age_sum",
            (F.col("age_sum") / F.col("users")).alias("age_mean"),
        )
    )
