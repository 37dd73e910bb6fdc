"""``POST /threads/{id}/results`` and ``GET /threads/{id}/readout``: the thread's campaign results over HTTP.

Same key auth, ownership (another key's thread is 404) and problem+json errors as the rest of the API.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import HTMLResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from campaign_planner.api.auth import authenticated_owner
from campaign_planner.api.errors import ProblemError
from campaign_planner.api.limits import rate_limited
from campaign_planner.api.state import ApiState, api_state
from campaign_planner.data.shop import CsvSource
from campaign_planner.results.files import ResultsFileError, parse_results_map
from campaign_planner.results.readout import Readout
from campaign_planner.results.report import render_readout
from campaign_planner.results.service import ThreadPlan, import_results, plan_from_store, readout
from campaign_planner.results.storage import ResultsConflict

router = APIRouter(tags=["results"])
Owner = Annotated[str, Depends(authenticated_owner)]
LimitedOwner = Annotated[str, Depends(rate_limited)]
State = Annotated[ApiState, Depends(api_state)]
_PROBLEM = {"content": {"application/problem+json": {}}}


class ResultsUpload(BaseModel):
    """Body of ``POST /threads/{id}/results``: one result file as CSV text."""

    model_config = ConfigDict(extra="forbid")

    csv: str = Field(min_length=1, description="The file's text: channel results or customer outcomes (see "
                                               "docs/results.md).")
    name: str = Field(default="results.csv", max_length=200, description="A name for the file in messages.")
    column_map: dict[str, Any] | None = Field(default=None, alias="map",
                                              description="A results column map (the YAML map's content).")
    channel: str | None = Field(default=None, max_length=64, description="The channel of every row, for a file "
                                                                         "without a channel column.")
    replace: bool = Field(default=False, description="Overwrite periods already imported with other figures.")


class ImportOut(BaseModel):
    """What an import did."""

    import_id: str | None
    thread_id: str
    kind: Literal["channel_results", "customer_outcomes"]
    source: str
    sha256: str
    rows_read: int
    rows_added: int
    rows_updated: int
    rows_unchanged: int
    already_imported: bool


def _thread_plan(state: ApiState, thread_id: str, owner: str) -> ThreadPlan:
    if state.store.get_thread(thread_id, owner) is None:
        raise ProblemError(404, f"thread {thread_id} not found")
    found = plan_from_store(state.store, thread_id)
    if found is None:
        raise ProblemError(409, f"thread {thread_id} has no plan yet: results are read against a plan")
    return found


@router.post("/threads/{thread_id}/results", response_model=ImportOut, status_code=201, responses={
    200: {"description": "Nothing new: the file was imported before, or every row is already stored",
          "model": ImportOut},
    404: {"description": "No such thread for this key", **_PROBLEM},
    409: {"description": "The thread has no plan yet, or the file contradicts stored results", **_PROBLEM},
    422: {"description": "The file is refused (the detail names column and lines); nothing stored", **_PROBLEM},
})
def post_results(thread_id: str, body: ResultsUpload, response: Response, state: State,
                 owner: LimitedOwner) -> ImportOut:
    """Import one result file for the thread's plan; 201 when rows were added or updated, 200 when nothing
    changed (importing the same file twice changes nothing). Refused whole (422, 409), nothing stored."""
    found = _thread_plan(state, thread_id, owner)
    data = body.csv.encode("utf-8")  # FastAPI already refuses (422) text with a lone surrogate
    try:
        column_map = parse_results_map(body.column_map, "map") if body.column_map is not None else None
        outcome = import_results(state.store, thread_id, found.plan, CsvSource(body.name, data),
                                 column_map=column_map, channel=body.channel.lower() if body.channel else None,
                                 replace=body.replace)
    except ResultsConflict as exc:
        raise ProblemError(409, str(exc)) from exc
    except ResultsFileError as exc:
        raise ProblemError(422, str(exc)) from exc
    if not outcome.rows_added and not outcome.rows_updated:
        response.status_code = 200
    return ImportOut(**outcome.as_dict())


@router.get("/threads/{thread_id}/readout", response_model=Readout, responses={
    200: {"description": "The readout: JSON (the model), Markdown or a self-contained HTML page",
          "content": {"text/markdown": {}, "text/html": {}}},
    404: {"description": "No such thread for this key", **_PROBLEM},
    409: {"description": "The thread has no plan yet", **_PROBLEM},
})
def get_readout(thread_id: str, state: State, owner: Owner,
                output_format: Annotated[Literal["json", "md", "html"], Query(alias="format")] = "json") -> Any:
    """Return the thread's campaign readout against its newest plan (before any results it says so)."""
    found = _thread_plan(state, thread_id, owner)
    result = readout(state.store, thread_id, found)
    if output_format == "json":
        return result
    text = render_readout(result, output_format)
    if output_format == "md":
        return PlainTextResponse(text, media_type="text/markdown; charset=utf-8")
    return HTMLResponse(text, headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                                                  "sandbox", "X-Content-Type-Options": "nosniff"})
