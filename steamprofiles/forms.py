"""The admin's "forget players" form: which SteamIDs to erase."""

from __future__ import annotations

import re

from django import forms

from livestate.player_history import is_steam_id_64

# One request should not hold a web worker through thousands of erasures.
MAX_FORGET_IDS = 100


def split_ids(text: str) -> list[str]:
    """SteamIDs separated by spaces, commas or lines, in order, without repeats."""
    return list(dict.fromkeys(part for part in re.split(r"[\s,]+", text) if part))


class ForgetPlayersForm(forms.Form):
    ids = forms.CharField(
        label="SteamID64s",
        widget=forms.Textarea(attrs={"rows": 3, "cols": 40}),
        help_text="One or more, separated by spaces, commas or lines.",
    )

    def clean_ids(self) -> list[str]:
        ids = split_ids(self.cleaned_data["ids"])
        bad = [i for i in ids if not is_steam_id_64(i)]
        if bad:
            shown = ", ".join(bad[:5]) + (" …" if len(bad) > 5 else "")
            raise forms.ValidationError(
                f"Not a SteamID64 of a player account: {shown} (17 digits, starting 765611…)."
            )
        if len(ids) > MAX_FORGET_IDS:
            raise forms.ValidationError(f"At most {MAX_FORGET_IDS} players at once.")
        return ids
