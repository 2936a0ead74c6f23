"""Response models of the upstream example, and its query parameters.

Both stacks serve the same API from these definitions, so one HTTP-level test suite checks
either. The query parameters are bounded here, where FastAPI turns a value out of range (a
negative delay, a status HTTP does not have) into a 422 with a reason before any call is made.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel, Field


class UpstreamResult(BaseModel):
    result: dict[str, Any] = Field(description="The upstream's JSON answer to /echo/a.")
    elapsed_ms: float


class FanoutResult(BaseModel):
    results: list[dict[str, Any]] = Field(description="The upstream's JSON answers to /echo/a and /echo/b, in order.")
    elapsed_ms: float


UpstreamDelay = Annotated[float, Query(ge=0, le=30, description="Seconds each upstream call takes.")]
UpstreamStatus = Annotated[
    int, Query(alias="status", ge=200, le=599, description="Status each upstream call answers with.")
]
