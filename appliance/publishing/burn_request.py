"""A job asked for by hand (`appliance burn`, later the web page), checked first."""

from __future__ import annotations

import json
from collections.abc import Sequence

from appliance.publishing.jobs_store import JobStore
from appliance.publishing.settings import Copies, PublishingSettings


class BurnRefused(Exception):
    """The request names something the box does not have; `sentence` says what to do."""

    def __init__(self, sentence: str) -> None:
        super().__init__(sentence)
        self.sentence = sentence


def request_burn(
    store: JobStore,
    settings: PublishingSettings,
    study_uids: Sequence[str],
    *,
    profile: str | None = None,
    copies: int | None = None,
    priority: int | None = None,
) -> int:
    """Queue a job for `study_uids`; `copies` sets the number of patient copies."""
    name = profile or settings.hand_profile
    chosen = settings.profiles.get(name)
    if chosen is None:
        raise BurnRefused(
            f"There is no profile {name!r}; nothing was queued — use one of "
            f"{', '.join(sorted(settings.profiles))} or add it to [publishing.profiles]."
        )
    uids = list(dict.fromkeys(study_uids))
    known = {
        row[0]
        for row in store.conn.execute(
            "SELECT study_uid FROM studies WHERE study_uid IN (SELECT value FROM json_each(?))",
            (json.dumps(uids),),
        )
    }
    missing = [uid for uid in uids if uid not in known]
    if not uids or missing:
        raise BurnRefused(
            f"The box holds no study {missing[0] if missing else '(none named)'}; nothing was "
            "queued — check the Study Instance UID with 'appliance studies ls'."
        )
    if copies is not None:
        counts = chosen.copies.model_dump() | {"patient": copies}
        try:
            chosen = chosen.model_copy(update={"copies": Copies.model_validate(counts)})
        except ValueError:
            raise BurnRefused(
                f"{copies} patient copies with profile {name!r} make no disc or too many "
                "(0 to 20, at least one disc in all); nothing was queued."
            ) from None
    return store.create_job(
        uids,
        name,
        chosen,
        priority=chosen.priority if priority is None else priority,
        origin="operator",
    )
