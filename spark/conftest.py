"""pytest: puts this folder on sys.path (the package is not installed) and gives the tests a local Spark.

The session is `local[1]`: no cluster, Kafka or Cassandra. It needs the spark-avro jar for from_avro and
to_avro, which the stack fetches with the connectors (`npm run stack -- up spark-master`, or the test
command's provisioning); SPARK_JOB_JARS names another folder holding it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# pyspark.testing imports pyspark.pandas, which warns unless this is set before the JVM starts.
os.environ.setdefault("PYARROW_IGNORE_TIMEZONE", "1")

from pyspark.sql import SparkSession  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent


def _avro_jar() -> Path:
    stack_home = Path(os.environ.get("STACK_HOME", REPO_ROOT / ".local"))
    folders = (
        [Path(os.environ["SPARK_JOB_JARS"])]
        if "SPARK_JOB_JARS" in os.environ
        else sorted(stack_home.glob("downloads/spark-connectors-*/libs"))
    )
    for folder in reversed(folders):
        jars = sorted(folder.glob("spark-avro_2.12-*.jar"))
        if jars:
            return jars[-1]
    raise pytest.UsageError(
        f"no spark-avro jar under {stack_home}/downloads/spark-connectors-*/libs: provision the Spark"
        " connectors first (npm run stack -- up spark-master), or set SPARK_JOB_JARS to a folder holding it"
    )


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    session = (
        SparkSession.builder.master("local[1]")
        .appName("users-aggregates-tests")
        .config("spark.jars", str(_avro_jar()))
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def pytest_configure(config: pytest.Config) -> None:
    # pyspark 3.5's testing helpers import distutils (deprecated in Python 3.11): not ours to fix.
    config.addinivalue_line("filterwarnings", "ignore:The distutils package is deprecated:DeprecationWarning")
