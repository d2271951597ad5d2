"""Settings: flags over variables over defaults, and messages that name what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from users_aggregates.settings import REPO_ROOT, SettingsError, load_settings


def test_defaults_read_the_local_stack():
    settings = load_settings([], {})
    assert settings.bootstrap_servers == "127.0.0.1:9092"
    assert settings.topic == "user-pipeline.users"
    assert settings.subject == "user-pipeline.users-value"
    assert settings.registry_url == "http://127.0.0.1:8085/apis/ccompat/v7"
    assert settings.keyspace == "user_pipeline"
    assert settings.checkpoint_dir == REPO_ROOT / ".local/services/spark-job/data/checkpoints"
    assert settings.watermark_delay == "10 minutes"
    assert settings.starting_offsets == "earliest"
    assert settings.shuffle_partitions == 4
    assert settings.status_file is None
    assert settings.consumer_group_prefix == "user-pipeline-local-spark-aggregates"
    assert settings.available_now is False


def test_flags_win_over_variables_and_the_subject_follows_the_topic():
    settings = load_settings(
        ["--topic", "t2", "--keyspace", "ks_b", "--available-now", "--checkpoint-dir", "/tmp/cp"],
        {"SPARK_JOB_TOPIC": "t1", "SPARK_JOB_KEYSPACE": "ks_a", "SPARK_JOB_MAX_OFFSETS_PER_TRIGGER": "500"},
    )
    assert (settings.topic, settings.subject, settings.keyspace) == ("t2", "t2-value", "ks_b")
    assert settings.max_offsets_per_trigger == 500
    assert settings.checkpoint_dir == Path("/tmp/cp")
    assert settings.available_now is True


def test_every_bad_value_is_named_with_its_variable_and_flag():
    with pytest.raises(SettingsError) as raised:
        load_settings(
            ["--watermark-delay", "10m"],
            {
                "SPARK_JOB_MAX_OFFSETS_PER_TRIGGER": "0",
                "SPARK_JOB_KEYSPACE": "Bad-Name",
                "SPARK_JOB_REGISTRY_URL": "localhost:8085",
                "SPARK_JOB_STARTING_OFFSETS": "beginning",
                "SPARK_JOB_CHECKPOINT_DIR": "relative/dir",
                "SPARK_JOB_CASSANDRA_PORT": "70000",
                "SPARK_JOB_CONSUMER_GROUP_PREFIX": "spaces are not allowed",
            },
        )
    message = str(raised.value)
    for expected in (
        "SPARK_JOB_WATERMARK_DELAY / --watermark-delay (from --watermark-delay): must look like '10 minutes'",
        "SPARK_JOB_MAX_OFFSETS_PER_TRIGGER / --max-offsets-per-trigger"
        " (from SPARK_JOB_MAX_OFFSETS_PER_TRIGGER):"
        " must be at least 1",
        "SPARK_JOB_KEYSPACE / --keyspace",
        "SPARK_JOB_REGISTRY_URL / --registry-url",
        "SPARK_JOB_STARTING_OFFSETS / --starting-offsets",
        "SPARK_JOB_CHECKPOINT_DIR / --checkpoint-dir",
        "SPARK_JOB_CASSANDRA_PORT / --cassandra-port",
        "SPARK_JOB_CONSUMER_GROUP_PREFIX / --consumer-group-prefix",
    ):
        assert expected in message
