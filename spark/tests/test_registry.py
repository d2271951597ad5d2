"""The writer schemas come from the registry's Confluent API: every version of the subject, by id."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from users_aggregates.registry import RegistryError, fetch_subject_schemas

SUBJECTS = {
    "users-value": {1: {"id": 41, "schema": '{"type":"string"}'}, 2: {"id": 57, "schema": '{"type":"long"}'}},
}


class FakeRegistry(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # the http.server API
        parts = self.path.strip("/").split("/")  # ccompat/v7/subjects/<subject>/versions[/<n>]
        versions = SUBJECTS.get(parts[3]) if len(parts) >= 5 else None
        if versions is None:
            self._answer(404, {"error_code": 40401, "message": "Subject not found"})
        elif len(parts) == 5:
            self._answer(200, sorted(versions))
        else:
            self._answer(200, {"subject": parts[3], "version": int(parts[5]), **versions[int(parts[5])]})

    def _answer(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def registry_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeRegistry)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/ccompat/v7"
    server.shutdown()


def test_reads_every_version_keyed_by_schema_id_and_the_latest_as_reader(registry_url):
    schemas = fetch_subject_schemas(registry_url, "users-value")
    assert schemas.by_id == {41: '{"type":"string"}', 57: '{"type":"long"}'}
    assert schemas.latest == '{"type":"long"}'


def test_an_unknown_subject_is_an_error_that_names_it(registry_url):
    with pytest.raises(RegistryError, match="no schema is registered under nobody-value"):
        fetch_subject_schemas(registry_url, "nobody-value")


def test_an_unreachable_registry_is_an_error_after_the_retries():
    with pytest.raises(RegistryError, match="is unavailable"):
        fetch_subject_schemas("http://127.0.0.1:9", "users-value", attempts=1, timeout_s=1)
