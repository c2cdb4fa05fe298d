"""``CALLVAULT_PURGE_CONFIRM_ABOVE`` accepts ``never`` or a whole number ≥ 0, and nothing else
(contract §10, §13)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from callvault.settings import NEVER, Settings, parse_confirm_above


def test_the_default_is_100(tmp_path, monkeypatch):
    monkeypatch.delenv("CALLVAULT_PURGE_CONFIRM_ABOVE", raising=False)
    assert Settings(data_dir=tmp_path).purge_confirm_above == 100


@pytest.mark.parametrize(
    ("text", "value"),
    [("never", NEVER), ("NEVER", NEVER), (" never ", NEVER), ("0", 0), ("250", 250), (" 7", 7)],
)
def test_the_variable_takes_never_or_a_whole_number(tmp_path, monkeypatch, text, value):
    monkeypatch.setenv("CALLVAULT_PURGE_CONFIRM_ABOVE", text)
    assert Settings(data_dir=tmp_path).purge_confirm_above == value


@pytest.mark.parametrize("text", ["-5", "-1", "abc", "", "1.5", "1e3", "0x10", "+3", "١٢"])
def test_anything_else_is_refused_with_a_clear_message(tmp_path, monkeypatch, text):
    monkeypatch.setenv("CALLVAULT_PURGE_CONFIRM_ABOVE", text)
    with pytest.raises(ValidationError) as caught:
        Settings(data_dir=tmp_path)
    message = str(caught.value)
    assert "purge_confirm_above" in message
    assert "whole number" in message
    assert "never" in message


@pytest.mark.parametrize("value", [-1, -5, True, 2.5, None])
def test_python_values_are_held_to_the_same_rule(tmp_path, value):
    with pytest.raises(ValidationError):
        Settings(data_dir=tmp_path, purge_confirm_above=value)
    assert Settings(data_dir=tmp_path, purge_confirm_above=3).purge_confirm_above == 3
    assert Settings(data_dir=tmp_path, purge_confirm_above="never").purge_confirm_above == NEVER


def test_parse_confirm_above_names_what_it_takes():
    assert parse_confirm_above("never") == NEVER
    assert parse_confirm_above("12") == 12
    with pytest.raises(ValueError, match="whole number"):
        parse_confirm_above("-5")
