"""The database session of a request is committed before its response leaves, and gives its connection back
before the request waits for another thread."""

from __future__ import annotations

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel, field_validator
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.db import get_engine, session_scope
from api.deps import SessionDep, SessionReleasingRoute, get_session
from api.main import create_app

ACCOUNT = {
    "reference": "CR-77001",
    "debtor_name": "Test",
    "date_of_birth": "1980-01-01",
    "language": "fr",
    "balance_minor": 1000,
    "due_date": "2026-10-01",
}


def test_a_failed_commit_is_answered_as_a_failure_not_a_success(database, creditor_headers, monkeypatch):
    def failing_commit(_session: Session) -> None:
        raise RuntimeError("the disk is full")

    with TestClient(create_app(), raise_server_exceptions=False) as client:
        monkeypatch.setattr(Session, "commit", failing_commit)
        answer = client.post("/api/v1/accounts", json=ACCOUNT, headers=creditor_headers)
        monkeypatch.undo()
        assert answer.status_code == 500
        assert client.get("/api/v1/accounts/CR-77001", headers=creditor_headers).status_code == 404


_CHECKED_OUT: list[int] = []  # the pool's connections in use when FastAPI validates the answer


class Answer(BaseModel):
    value: int

    @field_validator("value")
    @classmethod
    def _count(cls, value: int) -> int:
        _CHECKED_OUT.append(get_engine().pool.checkedout())
        return value


@pytest.mark.parametrize("route_class, held", [(APIRoute, 1), (SessionReleasingRoute, 0)])
def test_the_session_gives_its_connection_back_before_the_answer_waits_for_a_thread(database, route_class, held):
    """FastAPI validates a synchronous endpoint's answer in another worker thread before it closes the request's
    dependencies. With plain routes the session still holds its connection (and SQLite's write lock) while it
    waits for that thread; with ours it was committed and closed in the endpoint's thread."""
    seen = _CHECKED_OUT
    seen.clear()
    router = APIRouter(route_class=route_class)

    @router.post("/probe")
    def probe(session: SessionDep) -> Answer:
        session.execute(text("create table if not exists probe (x integer)"))
        session.execute(text("insert into probe values (1)"))  # a write: SQLite's write lock is taken
        return {"value": 1}  # type: ignore[return-value] - validated by FastAPI, in another thread

    app = FastAPI()
    app.include_router(router)
    with TestClient(app) as client:
        assert client.post("/probe").status_code == 200
    assert seen == [held]
    with session_scope() as session:
        assert session.scalar(text("select count(*) from probe")) == 1


def test_every_router_releases_its_sessions_in_the_endpoints_thread():
    fastapi_app = create_app().app.other_asgi_app  # inside the body-size limit and socket.io

    def walk(routes: list) -> list[APIRoute]:
        found = []
        for route in routes:
            included = getattr(route, "original_router", None)  # FastAPI's wrapper of an included router
            found += walk(included.routes) if included is not None else [route] if isinstance(route, APIRoute) else []
        return found

    routes = walk(fastapi_app.routes)

    def uses_session(dependant: Dependant) -> bool:
        return any(d.call is get_session or uses_session(d) for d in dependant.dependencies)

    with_session = [r for r in routes if uses_session(r.dependant)]
    assert len(with_session) > 40
    assert [r.path for r in with_session if not isinstance(r, SessionReleasingRoute)] == []
