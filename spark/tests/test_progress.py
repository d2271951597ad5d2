"""A committed batch's end offsets, mirrored into its query's consumer group (no Kafka: a fake sink)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

import pytest
from users_aggregates.progress import ProgressCommitter, end_offsets, group_id

TOPIC = "user-pipeline.users"


def progress(end: object, *, name: str = "users_per_minute", batch: int = 7) -> dict[str, object]:
    """A StreamingQueryProgress as Spark 3.5 writes it (`query.lastProgress`), one Kafka source."""
    return json.loads(
        json.dumps(
            {
                "id": "6f0c2d7e-0000-4000-8000-000000000001",
                "runId": "6f0c2d7e-0000-4000-8000-000000000002",
                "name": name,
                "timestamp": "2026-11-22T10:41:05.000Z",
                "batchId": batch,
                "numInputRows": 1000,
                "sources": [
                    {
                        "description": f"KafkaV2[Subscribe[{TOPIC}]]",
                        "startOffset": {TOPIC: {"0": 100, "1": 90, "2": 95}},
                        "endOffset": end,
                        "latestOffset": end,
                        "numInputRows": 1000,
                    }
                ],
                "sink": {"description": "ForeachBatchSink", "numOutputRows": -1},
                "observedMetrics": {},
            }
        )
    )


class FakeSink:
    """Records each commit; fails while `failing` is set."""

    def __init__(self) -> None:
        self.commits: list[tuple[str, str, dict[int, int]]] = []
        self.failing = False

    def __call__(self, group: str, topic: str, offsets: Mapping[int, int]) -> None:
        if self.failing:
            raise RuntimeError('KafkaError{code=_TRANSPORT,val=-195,str="Broker transport failure"}')
        self.commits.append((group, topic, dict(offsets)))


def test_the_end_offsets_of_our_topic_by_partition():
    end = {TOPIC: {"0": 450, "1": 420, "2": 431}}
    assert end_offsets(progress(end), TOPIC) == {0: 450, 1: 420, 2: 431}


def test_an_end_offset_given_as_json_text_reads_the_same():
    # A listener's SourceProgress carries endOffset as the JSON text Spark keeps in its offset log.
    assert end_offsets(progress(json.dumps({TOPIC: {"0": 5}})), TOPIC) == {0: 5}


def test_other_topics_are_ignored():
    end = {"someone-else": {"0": 9}, TOPIC: {"1": 12}}
    assert end_offsets(progress(end), TOPIC) == {1: 12}
    assert end_offsets(progress({"someone-else": {"0": 9}}), TOPIC) == {}


@pytest.mark.parametrize("end", [None, "", "not json", {}, [], {TOPIC: None}, {TOPIC: {"x": 1, "0": -1}}])
def test_no_end_offset_gives_nothing(end):
    assert end_offsets(progress(end), TOPIC) == {}


def test_a_progress_without_sources_gives_nothing():
    assert end_offsets({"name": "users_per_minute", "batchId": 0}, TOPIC) == {}
    assert end_offsets({"sources": None}, TOPIC) == {}


def test_each_query_commits_to_its_own_group():
    sink = FakeSink()
    committer = ProgressCommitter(TOPIC, "user-pipeline-local-spark-aggregates", sink)
    assert committer.commit("users_per_minute", progress({TOPIC: {"0": 3, "1": 4}}))
    assert committer.commit("age_stats_per_minute", progress({TOPIC: {"0": 3, "1": 4}}))
    assert sink.commits == [
        ("user-pipeline-local-spark-aggregates-users_per_minute", TOPIC, {0: 3, 1: 4}),
        ("user-pipeline-local-spark-aggregates-age_stats_per_minute", TOPIC, {0: 3, 1: 4}),
    ]
    assert group_id("p", "users_per_minute") == "p-users_per_minute"


def test_nothing_is_committed_without_offsets_or_a_query_name():
    sink = FakeSink()
    committer = ProgressCommitter(TOPIC, "p", sink)
    assert not committer.commit("users_per_minute", progress(None))
    assert not committer.commit("users_per_minute", None)
    assert not committer.commit(None, progress({TOPIC: {"0": 1}}))
    assert sink.commits == []


def test_a_progress_that_arrives_late_never_moves_the_group_back():
    # The job's last commit (from query.lastProgress) can come before the listener's older events.
    sink = FakeSink()
    committer = ProgressCommitter(TOPIC, "p", sink)
    assert committer.commit("users_per_minute", progress({TOPIC: {"0": 50, "1": 60}}, batch=5))
    assert not committer.commit("users_per_minute", progress({TOPIC: {"0": 40, "1": 60}}, batch=4))
    assert not committer.commit("users_per_minute", progress({TOPIC: {"0": 50, "1": 60}}, batch=5))
    assert committer.commit("users_per_minute", progress({TOPIC: {"0": 40, "1": 70}}, batch=6))
    assert [offsets for _, _, offsets in sink.commits] == [{0: 50, 1: 60}, {0: 50, 1: 70}]


def test_a_failed_commit_is_a_warning_and_the_next_progress_commits_again(caplog):
    sink = FakeSink()
    committer = ProgressCommitter(TOPIC, "p", sink)
    sink.failing = True
    with caplog.at_level(logging.WARNING, logger="users_aggregates.progress"):
        assert not committer.commit("users_per_minute", progress({TOPIC: {"0": 10}}, batch=3))
    assert "batch 3's offsets to consumer group p-users_per_minute" in caplog.text
    assert "Broker transport failure" in caplog.text
    sink.failing = False
    # The same offsets again: the failed commit did not count as done.
    assert committer.commit("users_per_minute", progress({TOPIC: {"0": 10}}, batch=3))
    assert sink.commits == [("p-users_per_minute", TOPIC, {0: 10})]
