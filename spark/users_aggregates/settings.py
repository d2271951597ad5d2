"""The job's settings: environment variables, overridden by command-line flags, validated once at start.

Every setting has a variable (``SPARK_JOB_*``) and a flag; a bad value stops the job before Spark starts,
with a message that names both.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

#: The repository root (spark/users_aggregates/settings.py → ../..): the default checkpoint lives under
#: its git-ignored .local/ folder, next to the rest of the local stack's state.
REPO_ROOT = Path(__file__).resolve().parents[2]

_DURATION = re.compile(r"^[1-9]\d* (second|minute|hour)s?$")
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
#: Kafka's legal topic characters, which tools expect of a group id too; room for `-<query name>`.
_GROUP_PREFIX = re.compile(r"^[A-Za-z0-9._-]{1,200}$")


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names its variable and flag."""


@dataclass(frozen=True)
class Settings:
    """What the job reads, where it writes, and how it paces itself."""

    bootstrap_servers: str
    topic: str
    subject: str
    registry_url: str
    cassandra_host: str
    cassandra_port: int
    cassandra_local_dc: str
    keyspace: str
    checkpoint_dir: Path
    watermark_delay: str
    max_offsets_per_trigger: int
    starting_offsets: str
    trigger_interval: str
    shuffle_partitions: int
    status_file: Path | None
    consumer_group_prefix: str
    available_now: bool


@dataclass(frozen=True)
class _Option:
    field: str
    env: str
    flag: str
    default: str | None
    parse: Callable[[str], object]
    help: str


def _text(value: str) -> str:
    if value.strip() == "":
        raise ValueError("must not be empty")
    return value.strip()


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"must be a whole number, got {value!r}") from None
    if number < 1:
        raise ValueError(f"must be at least 1, got {number}")
    return number


def _port(value: str) -> int:
    number = _positive_int(value)
    if number > 65535:
        raise ValueError(f"must be a TCP port (1-65535), got {number}")
    return number


def _duration(value: str) -> str:
    if not _DURATION.match(value.strip()):
        raise ValueError(f"must look like '10 minutes', '30 seconds' or '1 hour', got {value!r}")
    return value.strip()


def _url(value: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"must be an http(s) URL, got {value!r}")
    return value.rstrip("/")


def _identifier(value: str) -> str:
    if not _IDENTIFIER.match(value):
        raise ValueError(f"must be a Cassandra name (lower case, digits, _; 48 at most), got {value!r}")
    return value


def _offsets(value: str) -> str:
    if value not in ("earliest", "latest"):
        raise ValueError(f"must be earliest or latest, got {value!r}")
    return value


def _group_prefix(value: str) -> str:
    if not _GROUP_PREFIX.match(value):
        raise ValueError(f"must be a Kafka group name (letters, digits, . _ -; 200 at most), got {value!r}")
    return value


def _path(value: str) -> Path:
    path = Path(_text(value))
    if not path.is_absolute():
        raise ValueError(f"must be an absolute path, got {value!r}")
    return path


_OPTIONS: tuple[_Option, ...] = (
    _Option(
        "bootstrap_servers",
        "SPARK_JOB_KAFKA_BOOTSTRAP",
        "--bootstrap-servers",
        "127.0.0.1:9092",
        _text,
        "Kafka brokers",
    ),
    _Option("topic", "SPARK_JOB_TOPIC", "--topic", "user-pipeline.users", _text, "the users topic"),
    _Option(
        "subject",
        "SPARK_JOB_SUBJECT",
        "--subject",
        None,
        _text,
        "the registry subject of the topic's values (default: <topic>-value)",
    ),
    _Option(
        "registry_url",
        "SPARK_JOB_REGISTRY_URL",
        "--registry-url",
        "http://127.0.0.1:8085/apis/ccompat/v7",
        _url,
        "the schema registry's Confluent API",
    ),
    _Option("cassandra_host", "SPARK_JOB_CASSANDRA_HOST", "--cassandra-host", "127.0.0.1", _text, ""),
    _Option("cassandra_port", "SPARK_JOB_CASSANDRA_PORT", "--cassandra-port", "9042", _port, ""),
    _Option(
        "cassandra_local_dc", "SPARK_JOB_CASSANDRA_LOCAL_DC", "--cassandra-local-dc", "datacenter1", _text, ""
    ),
    _Option("keyspace", "SPARK_JOB_KEYSPACE", "--keyspace", "user_pipeline", _identifier, ""),
    _Option(
        "checkpoint_dir",
        "SPARK_JOB_CHECKPOINT_DIR",
        "--checkpoint-dir",
        str(REPO_ROOT / ".local/services/spark-job/data/checkpoints"),
        _path,
        "one sub-folder per streaming query; keep it to resume exactly where the job stopped",
    ),
    _Option(
        "watermark_delay",
        "SPARK_JOB_WATERMARK_DELAY",
        "--watermark-delay",
        "10 minutes",
        _duration,
        "how late an event may arrive (by updated_at) and still count; also the dedupe horizon",
    ),
    _Option(
        "max_offsets_per_trigger",
        "SPARK_JOB_MAX_OFFSETS_PER_TRIGGER",
        "--max-offsets-per-trigger",
        "20000",
        _positive_int,
        "records per micro-batch at most",
    ),
    _Option(
        "starting_offsets",
        "SPARK_JOB_STARTING_OFFSETS",
        "--starting-offsets",
        "earliest",
        _offsets,
        "where a fresh checkpoint starts reading (earliest or latest)",
    ),
    _Option(
        "trigger_interval",
        "SPARK_JOB_TRIGGER_INTERVAL",
        "--trigger-interval",
        "5 seconds",
        _duration,
        "how often a continuous run starts a micro-batch",
    ),
    _Option(
        "shuffle_partitions",
        "SPARK_JOB_SHUFFLE_PARTITIONS",
        "--shuffle-partitions",
        "4",
        _positive_int,
        "state partitions; fixed by the first checkpoint, later changes are ignored",
    ),
    _Option(
        "status_file",
        "SPARK_JOB_STATUS_FILE",
        "--status-file",
        None,
        _path,
        "where the driver writes its heartbeat (active queries, last batch) every few seconds",
    ),
    _Option(
        "consumer_group_prefix",
        "SPARK_JOB_CONSUMER_GROUP_PREFIX",
        "--consumer-group-prefix",
        # The local stage's (infra/pipeline/resources.ts, sparkConsumerGroupPrefix), which the stack passes.
        "user-pipeline-local-spark-aggregates",
        _group_prefix,
        "each query commits its progress to the Kafka consumer group <prefix>-<query name>",
    ),
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="users_aggregates",
        description="Windowed aggregates of the users topic into Cassandra (Spark Structured Streaming).",
    )
    for option in _OPTIONS:
        parser.add_argument(option.flag, dest=option.field, help=f"{option.help} [{option.env}]".strip())
    parser.add_argument(
        "--available-now",
        action="store_true",
        help="process what the topic holds now, in bounded micro-batches, then exit",
    )
    return parser


def load_settings(argv: Sequence[str], environ: Mapping[str, str]) -> Settings:
    """Settings from flags, then variables, then defaults; raises SettingsError naming each bad one."""
    args = _parser().parse_args(list(argv))
    values: dict[str, object] = {}
    problems: list[str] = []
    for option in _OPTIONS:
        raw = getattr(args, option.field)
        source = option.flag
        if raw is None:
            raw, source = environ.get(option.env), option.env
        if raw is None:
            raw, source = option.default, "the default"
        if raw is None:
            values[option.field] = None
            continue
        try:
            values[option.field] = option.parse(raw)
        except ValueError as error:
            problems.append(f"{option.env} / {option.flag} (from {source}): {error}")
    if problems:
        raise SettingsError("invalid settings:\n  " + "\n  ".join(problems))
    if values["subject"] is None:
        values["subject"] = f"{values['topic']}-value"
    return Settings(**values, available_now=args.available_now)  # type: ignore[arg-type]
