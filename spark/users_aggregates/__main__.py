"""Entry point: `spark-submit spark/job.py [flags]` on the cluster, or `python -m users_aggregates`."""

from __future__ import annotations

import logging
import os
import sys

from .registry import RegistryError
from .settings import SettingsError, load_settings

log = logging.getLogger("users_aggregates")


def main(argv: list[str] | None = None) -> int:
    """Validates the settings, then runs the job; a bad setting or an empty registry exits with 2."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    # py4j logs every callback (each foreachBatch call) at INFO.
    logging.getLogger("py4j").setLevel(logging.WARNING)
    try:
        settings = load_settings(sys.argv[1:] if argv is None else argv, os.environ)
    except SettingsError as error:
        log.error("%s", error)
        return 2
    # Imported here, so that a bad setting fails in a second, without starting a JVM.
    from .stream import run

    log.info(
        "reading %s (subject %s) into keyspace %s, checkpoint %s, %s",
        settings.topic,
        settings.subject,
        settings.keyspace,
        settings.checkpoint_dir,
        "available-now" if settings.available_now else f"every {settings.trigger_interval}",
    )
    try:
        return run(settings)
    except RegistryError as error:
        log.error("%s", error)
        return 2


if __name__ == "__main__":
    sys.exit(main())
