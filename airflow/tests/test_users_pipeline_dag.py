"""DAG integrity: users_pipeline imports cleanly, does no I/O at import, and is configured to be safe."""

from __future__ import annotations

import importlib.util
import socket
import sys

import pytest
from conftest import DAGS_FOLDER

DAG_FILE = DAGS_FOLDER / "users_pipeline.py"


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_FOLDER))


@pytest.fixture(scope="module")
def dag(dagbag):
    # The parsed object itself: get_dag() would consult the metadata database, which unit tests lack.
    return dagbag.dags["users_pipeline"]


def load_module(name: str = "users_pipeline_under_test"):
    spec = importlib.util.spec_from_file_location(name, DAG_FILE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_the_dag_folder_imports_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert dagbag.dag_ids == ["users_pipeline"]


def test_importing_the_dag_opens_no_connection(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the DAG file opened a network connection at import time")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    module = load_module()
    assert module.users_pipeline is not None


def test_plans_chunks_moves_them_in_mapped_lanes_then_drains_and_verifies(dag):
    order = [task.task_id for task in dag.topological_sort()]
    assert order == ["plan", "move_chunks", "publish", "verify"]
    for upstream, downstream in zip(order, order[1:], strict=False):
        assert dag.get_task(downstream).upstream_task_ids == {upstream}
    assert dag.get_task("move_chunks").is_mapped


def test_a_run_is_split_into_pages_of_the_seed_dealt_round_robin_to_lanes():
    module = load_module()
    assert module.plan_chunks(12_000) == [
        {"page": 1, "count": 5000},
        {"page": 2, "count": 5000},
        {"page": 3, "count": 2000},
    ]
    assert module.plan_chunks(5000) == [{"page": 1, "count": 5000}]
    assert module.plan_chunks(1) == [{"page": 1, "count": 1}]
    million = module.plan_chunks(1_000_000)
    assert len(million) == 200
    assert sum(chunk["count"] for chunk in million) == 1_000_000
    lanes = module.deal_lanes(million, 4)
    assert len(lanes) == 4
    assert [chunk["page"] for chunk in lanes[1][:3]] == [2, 6, 10]
    assert len(module.deal_lanes(million)) == module.LANES
    assert sorted(chunk["page"] for lane in lanes for chunk in lane) == list(range(1, 201))
    assert module.deal_lanes(module.plan_chunks(7000), 4) == [
        [{"page": 1, "count": 5000}],
        [{"page": 2, "count": 2000}],
    ]


def test_is_scheduled_without_catchup_one_run_at_a_time_and_tagged(dag):
    assert dag.schedule == "*/5 * * * *"
    assert dag.catchup is False
    assert dag.max_active_runs == 3
    assert dag.start_date.tzinfo is not None
    assert dag.dagrun_timeout is not None
    assert "users-pipeline" in dag.tags


def test_every_task_retries_with_backoff_and_has_a_timeout(dag):
    for task in dag.tasks:
        assert task.retries >= 2, task.task_id
        assert task.retry_exponential_backoff, task.task_id
        assert task.execution_timeout is not None, task.task_id
        # No task outlives the run: a lane of a big run takes its whole share of the chunks.
        assert task.execution_timeout <= dag.dagrun_timeout, task.task_id


def test_takes_count_seed_and_nat_as_validated_params(dag):
    params = dag.params
    assert params["count"] == 1000
    assert params["seed"] is None
    assert params["nat"] is None
    from airflow.sdk.exceptions import ParamValidationError

    with pytest.raises(ParamValidationError):
        params.get_param("count").resolve(0)
    assert params.get_param("count").resolve(1_000_000) == 1_000_000
    with pytest.raises(ParamValidationError):
        params.get_param("count").resolve(10_000_001)
    with pytest.raises(ParamValidationError):
        params.get_param("seed").resolve("no spaces allowed")


def test_a_retried_run_refetches_the_same_seed():
    module = load_module()
    assert module.seed_for("manual__2026-11-22T10:00:00", None) == module.seed_for(
        "manual__2026-11-22T10:00:00", None
    )
    assert module.seed_for("run-a", None) != module.seed_for("run-b", None)
    assert module.seed_for("run-a", "replay-7") == "replay-7"
    chunk = {"page": 3, "count": 10}
    assert module.fetch_body(chunk, "s", None) == {"count": 10, "seed": "s", "page": 3}
    assert module.fetch_body(chunk, "s", "GB,FR") == {"count": 10, "seed": "s", "page": 3, "nat": "GB,FR"}


def test_verify_says_how_many_are_missing_and_where_they_stopped():
    module = load_module()
    done = {"batchId": "b1", "users": 10, "published": 10, "inCassandra": 10, "complete": True}
    assert module.shortfall(done) is None
    in_outbox = {"batchId": "b1", "users": 10, "published": 6, "inCassandra": 5, "complete": False}
    assert module.shortfall(in_outbox) == (
        "5 of 10 users of batch b1 are not in Cassandra; "
        "4 are not published yet: they stopped in the PostgreSQL outbox (run publish)"
    )
    in_kafka = {"batchId": "b1", "users": 10, "published": 10, "inCassandra": 7, "complete": False}
    message = module.shortfall(in_kafka)
    assert message.startswith("3 of 10 users of batch b1 are not in Cassandra; all are published")
    assert "between Kafka and Cassandra" in message


class FakeResponse:
    def __init__(self, status_code: int, body: dict[str, object]) -> None:
        self.status_code = status_code
        self._body = body
        self.text = str(body)

    def json(self) -> dict[str, object]:
        return self._body


@pytest.mark.parametrize(
    ("answer", "retried"),
    [
        (FakeResponse(403, {"message": "Forbidden"}), False),
        (FakeResponse(400, {"message": "count must be at least 1"}), False),
        (FakeResponse(429, {"message": "Too Many Requests"}), True),
        (FakeResponse(503, {"message": "Kafka is unavailable"}), True),
        # fetch's answer to a randomuser page that kept coming back short (or failing).
        (FakeResponse(502, {"message": "randomuser kept failing for page 1 after 4 attempts"}), True),
    ],
)
def test_a_refusal_fails_at_once_and_a_passing_failure_is_retried(monkeypatch, answer, retried):
    from airflow.providers.http.hooks.http import HttpHook
    from airflow.sdk.exceptions import AirflowFailException

    module = load_module()
    monkeypatch.setenv(
        "AIRFLOW_CONN_USERS_PIPELINE_API", '{"conn_type": "http", "host": "http://127.0.0.1:9"}'
    )
    monkeypatch.setattr(HttpHook, "run", lambda self, *args, **kwargs: answer)
    expected = module.PipelineCallError if retried else AirflowFailException
    with pytest.raises(expected, match=str(answer.status_code)):
        module.call_function("fetch", {"count": 1})


def answering(answers: list):
    """A stand-in for call_function that gives the next of ``answers`` each call (raising exceptions)."""

    def answer(endpoint, body):
        next_answer = answers.pop(0)
        if isinstance(next_answer, Exception):
            raise next_answer
        return next_answer

    return answer


def test_a_chunk_call_that_fails_for_a_moment_is_retried_by_itself_with_backoff(monkeypatch):
    module = load_module()
    answers = [module.PipelineCallError("503"), module.PipelineCallError("503"), {"key": "raw/k.json"}]
    pauses: list[float] = []
    monkeypatch.setattr(module, "call_function", answering(answers))
    monkeypatch.setattr(module.time, "sleep", pauses.append)
    assert module.call_with_retries("fetch", {"count": 1}, attempts=3, pause_seconds=1) == {
        "key": "raw/k.json"
    }
    assert pauses == [1, 2]
    answers[:] = [module.PipelineCallError("still 503")] * 3
    with pytest.raises(module.PipelineCallError, match="still 503"):
        module.call_with_retries("fetch", {"count": 1}, attempts=3, pause_seconds=1)


def test_no_answer_at_all_is_retried(monkeypatch):
    import requests
    from airflow.providers.http.hooks.http import HttpHook

    module = load_module()
    monkeypatch.setenv(
        "AIRFLOW_CONN_USERS_PIPELINE_API", '{"conn_type": "http", "host": "http://127.0.0.1:9"}'
    )

    def refuse(self, *args, **kwargs):
        raise requests.exceptions.ConnectionError("connection refused")

    monkeypatch.setattr(HttpHook, "run", refuse)
    with pytest.raises(module.PipelineCallError, match="got no answer"):
        module.call_function("persist", {"key": "raw/x.json"})


def test_verify_waits_for_a_chunk_while_it_makes_progress_and_gives_up_once_it_stalls(monkeypatch):
    module = load_module()
    clock = [0.0]
    monkeypatch.setattr(module.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(module.time, "sleep", lambda seconds: clock.__setitem__(0, clock[0] + seconds))

    def status(landed: int) -> dict[str, object]:
        return {
            "batchId": "b1",
            "users": 10,
            "published": 10,
            "inCassandra": landed,
            "complete": landed == 10,
        }

    answers = [status(2), module.PipelineCallError("503"), status(6), status(6), status(10)]
    monkeypatch.setattr(module, "call_function", answering(answers))
    assert module.wait_for_chunk("b1", stall_seconds=5, poll_seconds=2)["inCassandra"] == 10
    answers[:] = [status(3)] * 10
    assert module.wait_for_chunk("b1", stall_seconds=5, poll_seconds=2) is None
    assert len(answers) == 6  # polled at 0, 2, 4 and 6 s: stalled from the first answer on


def test_publish_drains_until_nothing_is_unclaimed_or_held_by_another_relay(monkeypatch):
    module = load_module()
    monkeypatch.setattr(module.time, "sleep", lambda seconds: None)
    answers = [
        {"published": 5, "remaining": 0, "inFlight": 10},
        # The other relay failed: the rows it held are free again, and this loop publishes them.
        {"published": 0, "remaining": 10, "inFlight": 0},
        {"published": 10, "remaining": 0, "inFlight": 0},
    ]
    monkeypatch.setattr(module, "call_function", answering(answers))
    assert module.drain_outbox() == 15
    assert answers == []
    answers[:] = [{"published": 0, "remaining": 0, "inFlight": 4}] * module.PUBLISH_STALLS_ALLOWED
    with pytest.raises(module.PipelineCallError, match="0 rows unclaimed, 4 held by another relay"):
        module.drain_outbox()
