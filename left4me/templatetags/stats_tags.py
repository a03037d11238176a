"""Filters that draw the statistics' many small cells in one call each.

A 30-day chart has 720 hover boxes and the heat map 168 cells: through the
template engine, node by node, they cost more than the queries behind the
page. Here each is one f-string, every value escaped (the titles are our own
text, but escaping is the rule), as the server list's rows are.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING

from django import template
from django.utils.safestring import SafeString, mark_safe

if TYPE_CHECKING:
    from livestate.stats import HeatCell

register = template.Library()


@register.filter
def hover_boxes(titles: Sequence[str]) -> SafeString:
    """One unit-wide invisible box per chart bucket, its values in a `<title>`
    (drawn in an SVG whose viewBox is as wide as there are buckets)."""
    return mark_safe(  # noqa: S308 (every value is escaped)
        "".join(
            f'<rect x="{i}" width="1" height="1" class="hit"><title>{escape(title)}</title></rect>'
            for i, title in enumerate(titles)
        )
    )


@register.filter
def heat_cells(row: Sequence[HeatCell]) -> SafeString:
    """A heat map row's cells: intensity as a CSS class, the value as a tooltip."""
    return mark_safe(  # noqa: S308 (every value is escaped)
        "".join(
            f'<td class="heat heat-{escape(c.level)}" title="{escape(c.title)}"></td>' for c in row
        )
    )
