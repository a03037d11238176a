from __future__ import annotations

import pytest

from left4me.env import EnvError, env_bool, env_float, env_int, env_list

pytestmark = pytest.mark.nodb


def test_it_reads_booleans_strictly(monkeypatch):
    monkeypatch.setenv("FLAG", "yes")
    assert env_bool("FLAG") is True
    monkeypatch.setenv("FLAG", "maybe")
    with pytest.raises(EnvError, match="FLAG must be a boolean"):
        env_bool("FLAG")


def test_it_reads_numbers_with_bounds(monkeypatch):
    monkeypatch.setenv("N", "7")
    assert env_int("N", 1) == 7
    monkeypatch.setenv("N", "0.5")
    with pytest.raises(EnvError, match="N must be an integer"):
        env_int("N", 1)
    assert env_float("N", 1) == 0.5
    monkeypatch.setenv("N", "-1")
    with pytest.raises(EnvError, match="at least 0"):
        env_int("N", 1)


def test_it_falls_back_to_defaults_and_splits_lists(monkeypatch):
    monkeypatch.delenv("MISSING", raising=False)
    assert env_int("MISSING", 5) == 5
    monkeypatch.setenv("HOSTS", " a.example , b.example ,")
    assert env_list("HOSTS", []) == ["a.example", "b.example"]


def test_it_names_a_bad_network_variable(monkeypatch):
    from left4me.env import env_networks

    monkeypatch.setenv("OUTBOUND_ALLOWED_NETWORKS", "10.0.0.0/8, 999.0.0.0/8")
    with pytest.raises(EnvError, match=r"OUTBOUND_ALLOWED_NETWORKS: '999\.0\.0\.0/8'"):
        env_networks("OUTBOUND_ALLOWED_NETWORKS", "")
    monkeypatch.setenv("OUTBOUND_ALLOWED_NETWORKS", "10.0.0.0/8")
    assert env_networks("OUTBOUND_ALLOWED_NETWORKS", "") == "10.0.0.0/8"
