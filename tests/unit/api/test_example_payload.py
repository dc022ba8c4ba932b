"""The README's example payload (examples/payload.json) scores as documented, so that the
example cannot rot."""

from __future__ import annotations

from pathlib import Path

from tests.unit.api.conftest import Service

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "payload.json"


def test_the_readme_example_payload_scores(service: Service) -> None:
    reply = service.client.post(
        "/v1/scores",
        content=EXAMPLE.read_bytes(),
        headers={**service.headers(), "content-type": "application/json"},
    )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["entity_id"] == "EX-P1" and 0 <= body["score"] <= 100 and body["reasons"]
