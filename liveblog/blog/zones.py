"""The time zones offered wherever an event's zone is chosen (the editor's forms, the
Django admin): one list, so that every form offers the same zones in the same order."""

import zoneinfo
from functools import cache


@cache
def timezones() -> tuple[str, ...]:
    """Every IANA zone this machine knows, sorted."""
    return tuple(sorted(zoneinfo.available_timezones()))


def timezone_choices(current: str | None = None) -> list[tuple[str, str]]:
    """The choices of a zone field; `current` (an event's stored zone) is offered too when
    it is not in the list (a zone renamed since, or valid but unlisted: Etc/GMT+3)."""
    zones = timezones()
    if current and current not in zones:
        zones = (current, *zones)
    return [(zone, zone) for zone in zones]
