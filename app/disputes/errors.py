"""Errors of the dispute workflow (spec/disputes.md "Lifecycle of a disputable result").

    DisputeError                    base of this domain's errors
    ├── DisputeTransitionError      the result's or packet's status forbids the change (409)
    ├── PacketNotFound              no such packet, or not one the actor may see (404)
    ├── ResultNotFound              no such pricing result, or not the actor's (404)
    └── OutcomeInvalid              an outcome's amount is missing or out of range (422)

Messages name statuses, ids and amounts only, never a patient.
"""

from __future__ import annotations

from app.errors import Conflict, InvalidInput, NotFound, ReconError


class DisputeError(ReconError):
    code = "dispute_error"


class DisputeTransitionError(DisputeError, Conflict):
    """A status change the lifecycle does not allow, e.g. ``matched`` → ``recovered``."""

    code = "invalid_transition"

    def __init__(self, message: str, *, from_status: str | None, to_status: str) -> None:
        super().__init__(message, details=[{"from": from_status, "to": to_status}])
        self.from_status = from_status
        self.to_status = to_status


class PacketNotFound(DisputeError, NotFound):
    code = "not_found"

    def __init__(self, packet_id: str) -> None:
        super().__init__(f"dispute packet {packet_id} not found")
        self.packet_id = packet_id


class ResultNotFound(DisputeError, NotFound):
    code = "not_found"

    def __init__(self, result_id: str) -> None:
        super().__init__(f"pricing result {result_id} not found")
        self.result_id = result_id


class OutcomeInvalid(DisputeError, InvalidInput):
    code = "invalid_input"
