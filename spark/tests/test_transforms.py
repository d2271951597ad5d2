"""The transforms on batch DataFrames, with Avro bodies made by Spark's own to_avro."""

from __future__ import annotations

import json
import struct
from datetime import datetime

import pytest
from conftest import REPO_ROOT
from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.avro.functions import to_avro
from pyspark.sql.types import BinaryType, StructField, StructType
from pyspark.testing import assertDataFrameEqual
from users_aggregates import transforms

WRITER_V1 = (REPO_ROOT / "schemas/user-event.avsc").read_text()


def _evolved(schema: str) -> str:
    """The repo's schema plus an optional field, as a BACKWARD-compatible next version would add it."""
    parsed = json.loads(schema)
    parsed["fields"].append({"name": "nickname", "type": ["null", "string"], "default": None})
    return json.dumps(parsed)


READER_V2 = _evolved(WRITER_V1)
V1_ID, V2_ID = 258, 70001


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def event(
    key: str,
    updated_at: str,
    country: str = "Norway",
    gender: str = "female",
    born: str = "1990-06-15T10:00:00",
    event_type: str = "user.created",
) -> dict[str, object]:
    """A whole user event as the Avro schema describes it (fields the aggregates ignore filled in)."""
    text = {f["name"]: f"x-{f['name']}" for f in json.loads(WRITER_V1)["fields"]}
    return {
        **text,
        "event_id": f"e-{key}-{event_type}",
        "event_type": event_type,
        "user_key": key,
        "version": 1,
        "updated_at": ts(updated_at),
        "date_of_birth": ts(born),
        "registered_at": ts("2020-01-01T00:00:00"),
        "street_number": 7,
        "latitude": 1.5,
        "longitude": -2.5,
        "national_id_value": "12345",
        "country": country,
        "gender": gender,
    }


def header(schema_id: int) -> bytes:
    return b"\x00" + struct.pack(">i", schema_id)


def records(spark: SparkSession, events: list[dict[str, object]], schema: str, schema_id: int) -> DataFrame:
    """Kafka-like records (a binary `value`) holding `events` in the wire format."""
    avsc = json.loads(schema)
    names = [f["name"] for f in avsc["fields"] if f["name"] in events[0]]
    frame = spark.createDataFrame([Row(**{n: e[n] for n in names}) for e in events])
    # Python ints are inferred as bigint; the schema's ints want int.
    columns = [
        F.col(n).cast("int").alias(n) if n in ("version", "street_number") else F.col(n) for n in names
    ]
    return frame.select(
        F.concat(F.lit(header(schema_id)), to_avro(F.struct(*columns), schema)).alias("value")
    )


def raw(spark: SparkSession, values: list[bytes | None]) -> DataFrame:
    return spark.createDataFrame(
        [(v,) for v in values], StructType([StructField("value", BinaryType(), True)])
    )


def test_split_wire_format_strips_the_header_and_reads_a_big_endian_schema_id(spark):
    frame = raw(
        spark,
        [
            header(1) + b"abc",
            header(258) + b"\x01",
            header(V2_ID) + b"zz",
            b"\x01\x00\x00\x00\x01x",
            b"\x00\x00",
            None,
        ],
    )
    actual = transforms.split_wire_format(frame).select("wire_format", "schema_id", "body")
    expected = [
        Row(wire_format=True, schema_id=1, body=bytearray(b"abc")),
        Row(wire_format=True, schema_id=258, body=bytearray(b"\x01")),
        Row(wire_format=True, schema_id=V2_ID, body=bytearray(b"zz")),
        Row(wire_format=False, schema_id=None, body=None),
        Row(wire_format=False, schema_id=None, body=None),
        Row(wire_format=False, schema_id=None, body=None),
    ]
    assertDataFrameEqual(actual, expected)


def test_decodes_each_row_with_the_writer_schema_of_its_id_into_the_latest_shape(spark):
    v1 = records(spark, [event("a", "2026-11-22T10:00:10")], WRITER_V1, V1_ID)
    v2_event = {**event("b", "2026-11-22T10:00:20"), "nickname": "bee"}
    v2 = records(spark, [v2_event], READER_V2, V2_ID)
    garbage = raw(spark, [header(V1_ID) + b"\x02\x04not avro", header(999) + b"\x00", b"plain text"])
    decoded = transforms.decode_events(
        transforms.split_wire_format(v1.unionByName(v2).unionByName(garbage)),
        {V1_ID: WRITER_V1, V2_ID: READER_V2},
        READER_V2,
    )
    actual = decoded.select("event.user_key", "event.nickname", "event.updated_at", "decoded")
    assertDataFrameEqual(
        actual,
        [
            Row(user_key="a", nickname=None, updated_at=ts("2026-11-22T10:00:10"), decoded=True),
            Row(user_key="b", nickname="bee", updated_at=ts("2026-11-22T10:00:20"), decoded=True),
            Row(user_key=None, nickname=None, updated_at=None, decoded=False),
            Row(user_key=None, nickname=None, updated_at=None, decoded=False),
            Row(user_key=None, nickname=None, updated_at=None, decoded=False),
        ],
    )
    metrics = decoded.agg(*transforms.decode_metrics(decoded))
    assertDataFrameEqual(metrics, [Row(records=5, not_wire_format=1, undecodable=2)])


def test_keeps_created_events_only_flattened(spark):
    events = [
        event("a", "2026-11-22T10:00:10"),
        event("b", "2026-11-22T10:00:20", event_type="user.updated"),
    ]
    decoded = transforms.decode_events(
        transforms.split_wire_format(records(spark, events, WRITER_V1, V1_ID)), {V1_ID: WRITER_V1}, WRITER_V1
    )
    actual = transforms.created_events(decoded)
    assert actual.columns == list(transforms.EVENT_FIELDS)
    assertDataFrameEqual(
        actual.select("user_key", "event_type"), [Row(user_key="a", event_type="user.created")]
    )


def flat(spark: SparkSession, events: list[dict[str, object]]) -> DataFrame:
    return spark.createDataFrame([Row(**{f: e[f] for f in transforms.EVENT_FIELDS}) for e in events])


def test_deduplicates_on_the_user_key(spark):
    first = event("a", "2026-11-22T10:00:10")
    events = [first, first, event("b", "2026-11-22T10:00:20"), {**first, "event_id": "re-sent"}]
    actual = transforms.deduplicated(flat(spark, events), "10 minutes").select("user_key")
    assertDataFrameEqual(actual, [Row(user_key="a"), Row(user_key="b")])


def test_drops_events_from_the_future_before_they_can_drag_the_watermark(spark):
    events = [
        event("now", "2026-11-22T06:00:00"),
        event("skewed", "2026-11-22T06:04:59"),
        event("future", "2026-11-22T10:00:00"),
    ]
    now = F.lit(ts("2026-11-22T06:00:00"))
    actual = transforms.within_clock_skew(flat(spark, events), now).select("user_key")
    assertDataFrameEqual(actual, [Row(user_key="now"), Row(user_key="skewed")])


@pytest.mark.parametrize(
    ("born", "at", "years"),
    [
        ("1990-06-15T10:00:00", "2026-06-15T10:00:00", 36),  # the birthday, to the millisecond
        ("1990-06-15T10:00:00", "2026-06-15T09:59:59", 35),  # an hour before it
        ("1990-06-15T10:00:00", "2026-06-14T23:00:00", 35),
        ("1990-06-15T10:00:00", "2026-12-31T00:00:00", 36),
        ("2000-02-29T00:00:00", "2026-02-28T12:00:00", 25),  # no 29 February this year
        ("2000-02-29T00:00:00", "2026-03-01T00:00:00", 26),
        ("1950-01-01T00:00:00", "2026-01-01T00:00:00", 76),
    ],
)
def test_age_is_whole_years_at_the_event(spark, born, at, years):
    frame = spark.createDataFrame([Row(born=ts(born), at=ts(at))])
    actual = frame.select(transforms.age_years(F.col("born"), F.col("at")).alias("age"))
    assertDataFrameEqual(actual, [Row(age=years)])


def test_users_per_minute_by_country_and_gender(spark):
    events = [
        event("a", "2026-11-22T10:00:00", "Norway", "female"),
        event("b", "2026-11-22T10:00:59.999", "Norway", "female"),
        event("c", "2026-11-22T10:00:30", "Norway", "male"),
        event("d", "2026-11-22T10:01:00", "Norway", "female"),
        event("e", "2026-11-22T10:01:05", "Iran", "male"),
    ]
    actual = transforms.users_per_minute(flat(spark, events))
    assertDataFrameEqual(
        actual,
        [
            Row(window_start=ts("2026-11-22T10:00:00"), country="Norway", gender="female", users=2),
            Row(window_start=ts("2026-11-22T10:00:00"), country="Norway", gender="male", users=1),
            Row(window_start=ts("2026-11-22T10:01:00"), country="Norway", gender="female", users=1),
            Row(window_start=ts("2026-11-22T10:01:00"), country="Iran", gender="male", users=1),
        ],
    )


def test_age_stats_per_minute_by_country(spark):
    events = [
        event("a", "2026-11-22T10:00:00", "Norway", "female", born="1990-11-22T10:00:00"),  # 36
        event("b", "2026-11-22T10:00:10", "Norway", "male", born="2000-11-23T00:00:00"),  # 25
        event("c", "2026-11-22T10:00:20", "Norway", "male", born="1970-01-01T00:00:00"),  # 56
        event("d", "2026-11-22T10:01:00", "Iran", "female", born="2001-01-01T00:00:00"),  # 25
    ]
    actual = transforms.age_stats_per_minute(flat(spark, events))
    columns = ("window_start", "country", "users", "age_min", "age_max", "age_sum", "age_mean")
    expected = [
        (ts("2026-11-22T10:00:00"), "Norway", 3, 25, 56, 117, 39.0),
        (ts("2026-11-22T10:01:00"), "Iran", 1, 25, 25, 25, 25.0),
    ]
    assertDataFrameEqual(actual, [Row(**dict(zip(columns, values, strict=True))) for values in expected])


def test_the_whole_chain_counts_each_created_user_once(spark):
    events = [
        event("a", "2026-11-22T10:00:00", "Norway", "female"),
        event("a", "2026-11-22T10:00:00", "Norway", "female"),  # re-sent by publish
        event("b", "2026-11-22T10:00:05", "Norway", "female"),
        event("b", "2026-11-22T10:00:40", "Norway", "female", event_type="user.updated"),
    ]
    decoded = transforms.decode_events(
        transforms.split_wire_format(records(spark, events, WRITER_V1, V1_ID)), {V1_ID: WRITER_V1}, WRITER_V1
    )
    counted = transforms.users_per_minute(
        transforms.deduplicated(transforms.created_events(decoded), "10 minutes")
    )
    assertDataFrameEqual(
        counted, [Row(window_start=ts("2026-11-22T10:00:00"), country="Norway", gender="female", users=2)]
    )


def test_on_a_stream_dedupes_across_micro_batches_and_emits_absolute_counts(spark, tmp_path):
    """Files as the source, one per micro-batch; the sink upserts as the Cassandra sink does."""
    source, checkpoint = tmp_path / "in", tmp_path / "checkpoint"
    first = [event("a", "2026-11-22T10:00:00"), event("b", "2026-11-22T10:00:10")]
    second = [
        event("a", "2026-11-22T10:00:00"),
        event("c", "2026-11-22T10:00:20"),
        event("d", "2026-11-22T10:01:00"),
    ]
    table: dict[tuple[object, ...], int] = {}
    batches: list[int] = []

    def upsert(batch: DataFrame, batch_id: int) -> None:
        batches.append(batch_id)
        for row in batch.collect():
            table[(row.window_start, row.country, row.gender)] = row.users

    def run() -> None:
        stream = (
            spark.readStream.schema(flat(spark, first).schema)
            .option("maxFilesPerTrigger", 1)
            .option("recursiveFileLookup", "true")
        )
        counted = transforms.users_per_minute(
            transforms.deduplicated(stream.parquet(str(source)), "10 minutes")
        )
        query = (
            counted.writeStream.outputMode("update")
            .option("checkpointLocation", str(checkpoint))
            .foreachBatch(upsert)
            .trigger(availableNow=True)
            .start()
        )
        query.awaitTermination()

    flat(spark, first).write.parquet(str(source / "1"))
    run()
    assert table == {(ts("2026-11-22T10:00:00"), "Norway", "female"): 2}
    # A second run on the same checkpoint sees only the new file; the state remembers "a".
    flat(spark, second).write.parquet(str(source / "2"))
    run()
    assert table == {
        (ts("2026-11-22T10:00:00"), "Norway", "female"): 3,
        (ts("2026-11-22T10:01:00"), "Norway", "female"): 1,
    }
    assert batches == sorted(batches)
