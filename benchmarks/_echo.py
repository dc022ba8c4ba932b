"""The HTTP floor of ``bench_api.py``: a bare FastAPI app that reads the request body and answers
``{}`` (and ``/healthz``), served by uvicorn with the protocol ``flowrisk serve`` uses."""

from __future__ import annotations

from fastapi import FastAPI, Request

app = FastAPI()


@app.post("/echo")
async def echo(request: Request) -> dict[str, int]:
    """Read the whole body, as the scoring route does, and answer its size."""
    return {"bytes": len(await request.body())}


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
