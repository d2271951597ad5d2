"""users_pipeline: one batch of random users through the pipeline, as HTTP calls to its functions.

fetch -> persist -> publish -> verify. Each task is one POST to a function endpoint through the
Airflow connection ``users_pipeline_api`` (the base URL in ``host``, the API key as the ``x-api-key``
header in ``extra``), set through the environment as ``AIRFLOW_CONN_USERS_PIPELINE_API``.

Retries repeat exactly the same work: the seed is the run's own (given, or derived from the run id),
fetch answers the same batch for the same seed, persist upserts on the user key, publish relays the
outbox (safe to run twice), and verify only reads. Nothing happens at import time but definitions.
"""

from __future__ import annotations

import hashlib
import logging
import time
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import Param, dag, task

log = logging.getLogger(__name__)

CONNECTION_ID = "users_pipeline_api"
# (connect, read) seconds for one HTTP call. API Gateway ends a call after 29 s on AWS.
CALL_TIMEOUT = (5, 60)
# How long verify waits for the batch's users to reach Cassandra, and how often it looks.
VERIFY_TIMEOUT_SECONDS = 300
VERIFY_POLL_SECONDS = 2
# Publish calls in a row that publish nothing while rows remain (another relay holds them, SKIP
# LOCKED) before the task gives up and lets Airflow retry it later; it waits between them.
PUBLISH_STALLS_ALLOWED = 15
PUBLISH_STALL_PAUSE_SECONDS = 2
# Answers that say "later", not "wrong": API Gateway's throttling and a request timeout.
RETRYABLE_4XX = frozenset({408, 429})


class PipelineCallError(Exception):
    """A function answered an error that a retry may cure (5xx, or no answer at all)."""


def seed_for(run_id: str, requested: str | None) -> str:
    """The run's seed: the one asked for, else one derived from the run id.

    A retried fetch therefore asks for the same users, and fetch answers the same batch for them.
    """
    if requested:
        return requested
    return "run-" + hashlib.sha256(run_id.encode()).hexdigest()[:24]


def fetch_body(count: int, seed: str, nat: str | None) -> dict[str, Any]:
    """The body of POST /fetch for the run's params."""
    body: dict[str, Any] = {"count": count, "seed": seed}
    if nat:
        body["nat"] = nat
    return body


def call_function(endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
    """POSTs ``body`` to a function and returns its JSON answer.

    A 4xx means the request itself is wrong: the task fails at once, without retries (but 408 and
    429, which say "later"). A 5xx, a 408, a 429 or no answer at all raises PipelineCallError, which
    Airflow retries with backoff.
    """
    # Imported here, not at module level: DAG parsing stays fast and free of provider imports.
    import requests
    from airflow.providers.http.hooks.http import HttpHook
    from airflow.sdk.exceptions import AirflowFailException

    hook = HttpHook(method="POST", http_conn_id=CONNECTION_ID)
    try:
        response = hook.run(
            endpoint, json=body, extra_options={"timeout": CALL_TIMEOUT, "check_response": False}
        )
    except requests.exceptions.RequestException as error:  # connection errors and timeouts
        raise PipelineCallError(f"POST /{endpoint} got no answer: {error}") from error
    message = _message_of(response)
    if 400 <= response.status_code < 500 and response.status_code not in RETRYABLE_4XX:
        raise AirflowFailException(f"POST /{endpoint} was refused ({response.status_code}): {message}")
    if response.status_code >= 500 or response.status_code in RETRYABLE_4XX:
        raise PipelineCallError(f"POST /{endpoint} failed ({response.status_code}): {message}")
    return response.json()


def _message_of(response: Any) -> str:
    try:
        return str(response.json().get("message", response.text[:200]))
    except ValueError:
        return response.text[:200]


def shortfall(status: dict[str, Any]) -> str | None:
    """None when every user of the batch is in Cassandra, else what is missing and where it stopped."""
    users, published, in_cassandra = status["users"], status["published"], status["inCassandra"]
    if in_cassandra >= users:
        return None
    missing = users - in_cassandra
    where = (
        f"{users - published} are not published yet: they stopped in the PostgreSQL outbox (run publish)"
        if published < users
        else "all are published: they stopped between Kafka and Cassandra "
        "(is the sink's trigger running? look in its dead-letter queue: npm run dlq -- list)"
    )
    return f"{missing} of {users} users of batch {status['batchId']} are not in Cassandra; {where}"


@dag(
    dag_id="users_pipeline",
    description="randomuser -> S3 -> PostgreSQL -> Kafka -> Cassandra, one batch per run",
    schedule="*/5 * * * *",
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=30),
    tags=["users-pipeline", "http"],
    params={
        "count": Param(1000, type="integer", minimum=1, maximum=100_000, description="Users to fetch"),
        "seed": Param(
            None,
            type=["null", "string"],
            pattern="^[A-Za-z0-9_-]{1,64}$",
            description="Replays a batch; empty picks one from the run id",
        ),
        "nat": Param(
            None, type=["null", "string"], description="Nationalities, such as GB,FR; empty for all"
        ),
    },
    default_args={
        "retries": 3,
        "retry_delay": timedelta(seconds=10),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=2),
        "execution_timeout": timedelta(minutes=5),
    },
    doc_md=__doc__,
)
def users_pipeline() -> None:
    @task(execution_timeout=timedelta(minutes=3))
    def fetch(params: dict[str, Any], run_id: str) -> dict[str, Any]:
        """Lands the batch in the S3 raw zone; returns its key, which the next tasks work on."""
        seed = seed_for(run_id, params["seed"])
        result = call_function("fetch", fetch_body(params["count"], seed, params["nat"]))
        log.info("fetched batch %s: %d users (seed %s)", result["batchId"], result["count"], seed)
        return {"key": result["key"], "batchId": result["batchId"], "count": result["count"], "seed": seed}

    @task(execution_timeout=timedelta(minutes=3))
    def persist(batch: dict[str, Any]) -> dict[str, Any]:
        """Upserts the batch's users and their outbox rows into PostgreSQL, in one transaction."""
        result = call_function("persist", {"key": batch["key"]})
        log.info("persisted batch %s: %d users", batch["batchId"], result["users"])
        return batch

    @task(execution_timeout=timedelta(minutes=10))
    def publish(batch: dict[str, Any]) -> dict[str, Any]:
        """Relays the outbox to Kafka until it is empty (each call drains within its own time limit).

        Calls that publish nothing while rows remain (another relay holds them) are spaced out, and
        after a few the task fails so that Airflow retries it later.
        """
        total = 0
        stalls = 0
        while True:
            result = call_function("publish", {"drain": True})
            total += result["published"]
            if result["remaining"] == 0:
                break
            stalls = stalls + 1 if result["published"] == 0 else 0
            if stalls >= PUBLISH_STALLS_ALLOWED:
                raise PipelineCallError(
                    f"publish made no progress in {stalls} calls: {result['remaining']} rows remain, "
                    "held by another relay"
                )
            if stalls > 0:
                time.sleep(PUBLISH_STALL_PAUSE_SECONDS)
            log.info("published %d so far, %d remaining", total, result["remaining"])
        log.info("published %d events", total)
        return batch

    @task(execution_timeout=timedelta(seconds=VERIFY_TIMEOUT_SECONDS + 60))
    def verify(batch: dict[str, Any]) -> dict[str, Any]:
        """Waits until every user of the batch is in Cassandra.

        Fails, within its bound, saying how many are missing and where they stopped. A status call
        that fails for a moment is polled again within the same bound rather than retried by Airflow,
        so the bound holds.
        """
        from airflow.sdk.exceptions import AirflowFailException

        deadline = time.monotonic() + VERIFY_TIMEOUT_SECONDS
        problem = "the status function never answered"
        while True:
            try:
                status = call_function("status", {"batchId": batch["batchId"]})
            except PipelineCallError as error:
                problem = str(error)
            else:
                problem = shortfall(status)
                if problem is None:
                    log.info("all %d users of batch %s are in Cassandra", status["users"], batch["batchId"])
                    return status
            if time.monotonic() >= deadline:
                raise AirflowFailException(f"after {VERIFY_TIMEOUT_SECONDS} s: {problem}")
            time.sleep(VERIFY_POLL_SECONDS)

    verify(publish(persist(fetch())))


users_pipeline()
