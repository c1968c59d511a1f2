"""Participant statuses: Dallinger's names and the numeric codes of its older docs.

Both are stored as given and counted by meaning, so an app that mixes ``101`` and
``"approved"`` has one approved count (Dallinger once showed 0.00% yield for that).
"""

from __future__ import annotations

#: Dallinger's participant statuses and what each means.
MEANINGS: dict[str, str] = {
    "working": "still taking part",
    "submitted": "finished and submitted, not yet reviewed",
    "approved": "work accepted (counts toward yield)",
    "rejected": "work rejected",
    "returned": "gave the task back before finishing",
    "abandoned": "stopped without returning the task",
    "did_not_attend": "failed the attention check",
    "bad_data": "data unusable",
    "missing_notification": "the recruiter never reported back",
    "overrecruited": "recruited beyond what was needed",
    "recruiter_submission_started": "submission to the recruiter under way",
    "replaced": "replaced by another participant",
    "screened_out": "did not pass screening",
}

#: Legacy numeric codes (Dallinger's older docs) and the status each stands for.
LEGACY_CODES: dict[int, str] = {
    1: "working",
    100: "submitted",
    101: "approved",
    102: "did_not_attend",
    103: "returned",
    104: "abandoned",
    105: "bad_data",
    106: "replaced",
}


def normalize(status: str | int) -> str:
    """The status name a stored status (a name, or a legacy code as int or text) means.

    Raises ValueError for anything else, listing what is accepted.
    """
    if isinstance(status, bool):
        raise ValueError(f"status {status!r} is not a participant status")
    if isinstance(status, int) or (isinstance(status, str) and status.strip().isdigit()):
        code = int(status)
        if code in LEGACY_CODES:
            return LEGACY_CODES[code]
    elif isinstance(status, str) and status in MEANINGS:
        return status
    raise ValueError(
        f"status {status!r} is not a participant status: use one of "
        f"{', '.join(MEANINGS)}, or a legacy code "
        f"({', '.join(f'{c} {n}' for c, n in LEGACY_CODES.items())})")


def meaning(status: str | int) -> str:
    """``101 (approved)`` / ``approved``: a stored status with what it means."""
    name = normalize(status)
    return name if str(status) == name else f"{status} ({name})"
