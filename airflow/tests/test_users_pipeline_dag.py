"""DAG integrity: users_pipeline imports cleanly, does no I/O at import, and is configured to be safe."""

from __future__ import annotations

import importlib.util
import socket
import sys
from datetime import timedelta

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


def test_runs_fetch_persist_publish_verify_in_order(dag):
    order = [task.task_id for task in dag.topological_sort()]
    assert order == ["fetch", "persist", "publish", "verify"]
    for upstream, downstream in zip(order, order[1:], strict=False):
        assert dag.get_task(downstream).upstream_task_ids == {upstream}


def test_is_scheduled_without_catchup_one_run_at_a_time_and_tagged(dag):
    assert dag.schedule == "*/5 * * * *"
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert dag.start_date.tzinfo is not None
    assert dag.dagrun_timeout is not None
    assert "users-pipeline" in dag.tags


def test_every_task_retries_with_backoff_and_has_a_timeout(dag):
    for task in dag.tasks:
        assert task.retries >= 2, task.task_id
        assert task.retry_exponential_backoff, task.task_id
        assert task.execution_timeout is not None, task.task_id
        assert task.execution_timeout <= timedelta(minutes=10), task.task_id


def test_takes_count_seed_and_nat_as_validated_params(dag):
    params = dag.params
    assert params["count"] == 1000
    assert params["seed"] is None
    assert params["nat"] is None
    from airflow.sdk.exceptions import ParamValidationError

    with pytest.raises(ParamValidationError):
        params.get_param("count").resolve(0)
    with pytest.raises(ParamValidationError):
        params.get_param("seed").resolve("no spaces allowed")


def test_a_retried_run_refetches_the_same_seed():
    module = load_module()
    assert module.seed_for("manual__2026-11-22T10:00:00", None) == module.seed_for(
        "manual__2026-11-22T10:00:00", None
    )
    assert module.seed_for("run-a", None) != module.seed_for("run-b", None)
    assert module.seed_for("run-a", "replay-7") == "replay-7"
    assert module.fetch_body(10, "s", None) == {"count": 10, "seed": "s"}
    assert module.fetch_body(10, "s", "GB,FR") == {"count": 10, "seed": "s", "nat": "GB,FR"}


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
