"""The writer schemas of the users topic, read once at start from the registry's Confluent API."""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

log = logging.getLogger(__name__)


class RegistryError(RuntimeError):
    """The registry could not be read, or holds no schema for the subject."""


@dataclass(frozen=True)
class SubjectSchemas:
    """Every version of a subject: the writer schema of each schema id, and the latest one (the reader)."""

    by_id: dict[int, str]
    latest: str


def _get_json(url: str, timeout_s: float) -> object:
    request = urllib.request.Request(url, headers={"Accept": "application/vnd.schemaregistry.v1+json"})
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        return json.load(response)


def fetch_subject_schemas(
    registry_url: str, subject: str, attempts: int = 5, timeout_s: float = 10.0
) -> SubjectSchemas:
    """Fetches every version of `subject`, retrying a registry that is briefly unavailable."""
    base = f"{registry_url}/subjects/{urllib.parse.quote(subject, safe='')}/versions"
    for attempt in range(1, attempts + 1):
        try:
            versions = _get_json(base, timeout_s)
            if not isinstance(versions, list) or not versions:
                raise RegistryError(f"no schema is registered under {subject}")
            by_id: dict[int, str] = {}
            latest: tuple[int, str] | None = None
            for version in sorted(int(v) for v in versions):
                entry = _get_json(f"{base}/{version}", timeout_s)
                if not isinstance(entry, dict):
                    raise RegistryError(f"unexpected answer for {subject} version {version}")
                schema_id, schema = int(entry["id"]), str(entry["schema"])
                by_id[schema_id] = schema
                latest = (version, schema)
            assert latest is not None
            log.info("registry: %s has schema ids %s (latest version %d)", subject, sorted(by_id), latest[0])
            return SubjectSchemas(by_id=by_id, latest=latest[1])
        except urllib.error.HTTPError as error:
            if error.code == 404:
                raise RegistryError(f"no schema is registered under {subject}") from error
            problem: Exception = error
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            problem = error
        log.warning("registry unavailable (attempt %d of %d): %s", attempt, attempts, problem)
        if attempt < attempts:
            time.sleep(2 * attempt)
    raise RegistryError(f"the schema registry at {registry_url} is unavailable")
