"""Request and response models of the offload example, and the validator of its path parameter.

Both stacks serve the same API from these definitions, so one HTTP-level test suite checks
either. Every constraint a client can break is declared here, where FastAPI turns it into
a 4xx with a reason before any work is offloaded: a limit past `MAX_PRIMES_LIMIT` never
reaches the process pool.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

MAX_PRIMES_LIMIT = 2_000_000


class Report(BaseModel):
    report_id: int
    title: str
    rows: int
    checksum: str


ReportId = Annotated[int, Path(ge=1, le=1_000_000)]


class PrimesRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(ge=1, le=MAX_PRIMES_LIMIT, description="Count the primes below this number.")


class PrimesResult(BaseModel):
    limit: int
    count: int
    elapsed_ms: float
