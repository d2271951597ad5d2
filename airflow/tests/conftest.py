"""Airflow reads its settings when first imported: point it at a scratch home before any test imports it."""

import atexit
import os
import shutil
import tempfile
from pathlib import Path

DAGS_FOLDER = Path(__file__).resolve().parent.parent / "dags"

os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="airflow-tests-")
atexit.register(shutil.rmtree, os.environ["AIRFLOW_HOME"], ignore_errors=True)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAGS_FOLDER)
