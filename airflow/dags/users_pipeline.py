"""users_pipeline: a run of random users through the pipeline, as HTTP calls to its functions.

A run of any size moves as a stream of chunks of ``CHUNK_USERS`` (one randomuser page of the run's
seed each): ``plan`` splits the run into chunks and deals them to a few lanes; each lane of the mapped
``move_chunks`` task takes its chunks one after the other through fetch -> persist -> publish, so the
lanes overlap the stages and users reach Cassandra while the run goes on; ``publish`` then drains
what the lanes left in the outbox, and ``verify`` waits until every chunk is in Cassandra. Each call
is one POST to a function endpoint through the Airflow connection ``users_pipeline_api`` (the base URL
in ``host``, the API key as the ``x-api-key`` header in ``extra``), set through the environment as
``AIRFLOW_CONN_USERS_PIPELINE_API``. No call's memory or duration grows with the run: each carries one
chunk.

Lanes, not a task per chunk: a task instance costs Airflow about half a second of CPU on a 2-core
machine (measured: 41 mapped no-op tasks, 19.5 s of CPU above idle), so a million users in 200 chunks
of three tasks each would spend more CPU on Airflow than on the pipeline. A failed call is retried by
itself, with backoff, inside its lane; a lane that still fails is retried by Airflow, and every step
repeats exactly the same work: the seed is the run's own (given, or derived from the run id), fetch
answers the same batch for the same seed and page, persist upserts on the user key, publish relays the
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
# Users per chunk: one randomuser page, the most one API request returns.
CHUNK_USERS = 5000
# The most users a run may ask for: 2,000 chunks (the API serves pages 1 to 10,000 of a seed).
MAX_RUN_USERS = 10_000_000
# Lanes of move_chunks: chunks in flight at once. Two overlap the stages (one lane fetches while the
# other persists or publishes); four measured slower here: more function instances in sls offline
# competing for the same two cores (and 2.9 GB of memory). On AWS each call is its own invocation.
LANES = 2
# Attempts of one chunk's call before its lane fails (then Airflow retries the lane), and the first
# pause between them, doubled each time.
CALL_ATTEMPTS = 5
CALL_RETRY_PAUSE_SECONDS = 2
# Events a lane's publish call relays at most: its own chunk and as much again (the other lane's),
# so that the call is short however busy the outbox is. A drain would go on while the other lane
# keeps persisting, and under load ran into the function's timeout (504) here.
PUBLISH_EVENTS_PER_CALL = 2 * CHUNK_USERS
# Verify fails when a chunk made no progress for this long; how often it looks at a chunk.
VERIFY_STALL_SECONDS = 300
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


def plan_chunks(count: int, chunk_users: int = CHUNK_USERS) -> list[dict[str, int]]:
    """The run's chunks: pages 1, 2, 3 ... of its seed, full but the last, which holds the rest."""
    pages = -(-count // chunk_users)
    return [
        {"page": page, "count": chunk_users if page < pages else count - chunk_users * (pages - 1)}
        for page in range(1, pages + 1)
    ]


def deal_lanes(chunks: list[dict[str, int]], lanes: int = LANES) -> list[list[dict[str, int]]]:
    """Deals the chunks to at most ``lanes`` lanes, round robin: every lane holds early and late pages."""
    used = min(lanes, len(chunks))
    return [chunks[lane::used] for lane in range(used)]


def fetch_body(chunk: dict[str, int], seed: str, nat: str | None) -> dict[str, Any]:
    """The body of POST /fetch for one chunk of the run."""
    body: dict[str, Any] = {"count": chunk["count"], "seed": seed, "page": chunk["page"]}
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


def call_with_retries(
    endpoint: str,
    body: dict[str, Any],
    attempts: int = CALL_ATTEMPTS,
    pause_seconds: float = CALL_RETRY_PAUSE_SECONDS,
) -> dict[str, Any]:
    """call_function, with a failure that a retry may cure retried here, so one chunk retries alone."""
    for attempt in range(1, attempts + 1):
        try:
            return call_function(endpoint, body)
        except PipelineCallError as error:
            if attempt == attempts:
                raise
            log.warning("attempt %d of %d: %s; retrying", attempt, attempts, error)
            time.sleep(pause_seconds * 2 ** (attempt - 1))
    raise AssertionError("unreachable")


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


def chunk_problem(batch_id: str) -> str:
    """What keeps a chunk from being complete, as one status call sees it."""
    try:
        return shortfall(call_function("status", {"batchId": batch_id})) or "it is complete now"
    except PipelineCallError as error:
        return str(error)


def wait_for_chunk(
    batch_id: str, stall_seconds: float = VERIFY_STALL_SECONDS, poll_seconds: float = VERIFY_POLL_SECONDS
) -> dict[str, Any] | None:
    """Polls a chunk's status until all its users are in Cassandra; None once it stalled for too long."""
    landed_before = -1
    last_progress = time.monotonic()
    while True:
        try:
            status = call_function("status", {"batchId": batch_id})
        except PipelineCallError:
            status = None
        if status is not None and shortfall(status) is None:
            return status
        landed = -1 if status is None else status["inCassandra"]
        if landed > landed_before:
            landed_before, last_progress = landed, time.monotonic()
        elif time.monotonic() - last_progress >= stall_seconds:
            return None
        time.sleep(poll_seconds)


def drain_outbox() -> int:
    """Calls publish to drain until the outbox is empty; returns how many events the calls published.

    A call answers the rows left unclaimed (``remaining``) and those another relay holds
    (``inFlight``): those end published by it, or freed for the next call if it fails, so the loop
    goes on until both are 0. Calls that publish nothing while rows remain are spaced out, and after
    a few the task fails so that Airflow retries it later.
    """
    total = 0
    stalls = 0
    while True:
        result = call_function("publish", {"drain": True})
        total += result["published"]
        in_flight = result.get("inFlight", 0)
        if result["remaining"] == 0 and in_flight == 0:
            break
        stalls = stalls + 1 if result["published"] == 0 else 0
        if stalls >= PUBLISH_STALLS_ALLOWED:
            raise PipelineCallError(
                f"publish made no progress in {stalls} calls: {result['remaining']} rows unclaimed, "
                f"{in_flight} held by another relay"
            )
        if stalls > 0:
            time.sleep(PUBLISH_STALL_PAUSE_SECONDS)
        log.info("published %d so far, %d remaining, %d in flight", total, result["remaining"], in_flight)
    log.info("published %d events", total)
    return total


@dag(
    dag_id="users_pipeline",
    description="randomuser -> S3 -> PostgreSQL -> Kafka -> Cassandra, in chunks of 5,000 users",
    schedule="*/5 * * * *",
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    # Runs of other seeds (or the same) can go at once: every step is idempotent (the chaos run's load).
    max_active_runs=3,
    # A million users take some 15 minutes here, and about 4 h 10 min on AWS at randomuser.me's rate.
    dagrun_timeout=timedelta(hours=6),
    tags=["users-pipeline", "http"],
    params={
        "count": Param(1000, type="integer", minimum=1, maximum=MAX_RUN_USERS, description="Users to fetch"),
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
    @task
    def plan(params: dict[str, Any], run_id: str) -> list[dict[str, Any]]:
        """Splits the run into chunks and deals them to lanes; each lane's share is one mapped task."""
        seed = seed_for(run_id, params["seed"])
        lanes = deal_lanes(plan_chunks(params["count"]))
        log.info(
            "%d users of seed %s: %d chunks in %d lanes",
            params["count"],
            seed,
            sum(map(len, lanes)),
            len(lanes),
        )
        return [{"seed": seed, "nat": params["nat"], "chunks": chunks} for chunks in lanes]

    @task(execution_timeout=timedelta(hours=5))
    def move_chunks(lane: dict[str, Any]) -> list[dict[str, Any]]:
        """Takes each chunk of the lane through fetch -> persist -> publish; returns the chunks' batches.

        The publish call relays up to PUBLISH_EVENTS_PER_CALL of what the outbox holds (other lanes'
        rows too); what it leaves is relayed by the next call or drained by the publish task.
        """
        batches = []
        for chunk in lane["chunks"]:
            fetched = call_with_retries("fetch", fetch_body(chunk, lane["seed"], lane["nat"]))
            call_with_retries("persist", {"key": fetched["key"]})
            published = call_with_retries("publish", {"maxEvents": PUBLISH_EVENTS_PER_CALL})
            log.info(
                "page %d: batch %s, %d users; published %d, %d left in the outbox",
                chunk["page"],
                fetched["batchId"],
                fetched["count"],
                published["published"],
                published["remaining"],
            )
            batches.append({"batchId": fetched["batchId"], "key": fetched["key"], "count": fetched["count"]})
        return batches

    @task(execution_timeout=timedelta(minutes=10))
    def publish(lanes: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
        """Relays the outbox to Kafka until it is empty (see drain_outbox). Returns the run's batches."""
        drain_outbox()
        return [batch for lane in lanes for batch in lane]

    @task(execution_timeout=timedelta(hours=1))
    def verify(batches: list[dict[str, Any]]) -> dict[str, Any]:
        """Waits until every user of every chunk is in Cassandra; returns the run's counts and batches.

        The chunks are checked in order, each polled until it is complete: the sink lands them about
        in that order, so each chunk's users are read from Cassandra once or a few times, not at every
        poll of the run. Fails when a chunk made no progress for VERIFY_STALL_SECONDS, saying how many
        users are missing and where they stopped. A status call that fails for a moment is polled again
        rather than retried by Airflow, so the bound holds.
        """
        from airflow.sdk.exceptions import AirflowFailException

        users = 0
        for number, batch in enumerate(batches, start=1):
            status = wait_for_chunk(batch["batchId"])
            if status is None:
                raise AirflowFailException(
                    f"chunk {number} of {len(batches)} made no progress in {VERIFY_STALL_SECONDS} s: "
                    f"{chunk_problem(batch['batchId'])}"
                )
            users += status["users"]
            if number % 10 == 0 or number == len(batches):
                log.info("%d of %d chunks are in Cassandra (%d users)", number, len(batches), users)
        log.info("all %d users of the run's %d chunks are in Cassandra", users, len(batches))
        return {"users": users, "inCassandra": users, "batches": batches}

    verify(publish(move_chunks.expand(lane=plan())))


users_pipeline()
