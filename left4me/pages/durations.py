"""Lengths of time as people read them: "3 h 12 min", "45 min", "20 s", "5 h ago".

Plain arithmetic: a page of 50 sessions shows 150 of these, and Django's
naturaltime (translations, calendar months) costs ~0.1 ms each.
"""

from __future__ import annotations

DAY = 86400


def humanize_seconds(seconds: float) -> str:
    """Whole hours however many (playtime reads best in hours), then minutes."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    hours, minutes = divmod(seconds // 60, 60)
    if not hours:
        return f"{minutes} min"
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def ago(seconds: float) -> str:
    """How long ago, to one unit: "just now", "12 min ago", "5 h ago", "3 days ago"."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < DAY:
        return f"{seconds // 3600} h ago"
    days = seconds // DAY
    return "1 day ago" if days == 1 else f"{days} days ago"
