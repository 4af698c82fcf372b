"""Creditor API: when the creditor's agents answer handed-over conversations, and which disputes they review."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.deps import CreditorDep, SessionDep
from api.services import hours
from api.services.audit import audit

router = APIRouter(prefix="/api/v1/handoff-settings", tags=["handoffs"])


class AgentHoursIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timezone: str = Field(examples=["Europe/Paris"])
    weekly: dict[str, list[list[str]]] = Field(examples=[{"mon": [["09:00", "12:30"], ["13:30", "18:00"]]}])


class HandoffSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent_hours: AgentHoursIn
    expected_wait_minutes: int = Field(ge=1, le=7 * 24 * 60)
    review_disputes: bool

    @field_validator("agent_hours")
    @classmethod
    def _readable_hours(cls, value: AgentHoursIn) -> AgentHoursIn:
        hours.parse_hours(value.model_dump())  # a ValueError says what is wrong (unknown zone, bad range)
        return value


def _view(creditor: Any) -> HandoffSettings:
    return HandoffSettings(
        agent_hours=AgentHoursIn(**(creditor.agent_hours or hours.DEFAULT_HOURS)),
        expected_wait_minutes=creditor.expected_wait_minutes,
        review_disputes=creditor.review_disputes,
    )


@router.get("", response_model=HandoffSettings)
def read_handoff_settings(creditor: CreditorDep) -> HandoffSettings:
    return _view(creditor)


@router.put("", response_model=HandoffSettings)
def update_handoff_settings(body: HandoffSettings, creditor: CreditorDep, session: SessionDep) -> HandoffSettings:
    creditor.agent_hours = body.agent_hours.model_dump()
    creditor.expected_wait_minutes = body.expected_wait_minutes
    creditor.review_disputes = body.review_disputes
    audit(session, f"creditor:{creditor.id}", "handoff_settings_updated", "creditor", creditor.id, **body.model_dump())
    return _view(creditor)
