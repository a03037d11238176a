"""Durations and fractions in templates, as people read them ("1 h 5 min", "99.5 %").

The read models answer in seconds and fractions; these filters say them with
the pages' one duration format (`left4me.pages.durations`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template

from left4me.pages.durations import humanize_seconds

register = template.Library()


@register.filter
def duration(value: float | timedelta | None) -> str:
    """Seconds (or a timedelta) as "3 h 12 min"; "—" for none."""
    if value is None or value == "":
        return "—"
    return humanize_seconds(value.total_seconds() if isinstance(value, timedelta) else value)


@register.filter
def played(joined_at: datetime | None, left_at: datetime | None) -> str:
    """How long a session lasted: `{{ card.joined_at|played:card.left_at }}`."""
    if joined_at is None or left_at is None:
        return "—"
    return duration(left_at - joined_at)


@register.filter
def percent(fraction: float | None) -> str:
    """A fraction as a percentage; two decimals from 99 %, and never rounded up to 100."""
    if fraction is None:
        return "—"
    value = fraction * 100
    text = f"{value:.{2 if 99 <= value < 100 else 1}f}"
    if value < 100 and float(text) >= 100:
        text = "99.99"
    return text.rstrip("0").rstrip(".") + "\u00a0%"
