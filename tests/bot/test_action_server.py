"""The action server's own guards: a secret is required, and production refuses the development ones."""

from __future__ import annotations

import dataclasses

import pytest

from actions.api_client import CONFIG, DEV_ACTION_SERVER_TOKEN
from actions.server import create_server


def test_the_action_server_will_not_start_without_a_secret():
    with pytest.raises(ValueError, match="ACTION_SERVER_TOKEN"):
        create_server("")


def test_production_refuses_the_development_secrets():
    production = dataclasses.replace(CONFIG, app_env="production", action_server_token=DEV_ACTION_SERVER_TOKEN)
    with pytest.raises(SystemExit, match="ACTION_SERVER_TOKEN"):
        production.refuse_development_secrets()
    fine = dataclasses.replace(production, actions_token="s3cret-a", action_server_token="s3cret-b")
    fine.refuse_development_secrets()


def test_the_default_address_is_loopback():
    assert CONFIG.action_server_host == "127.0.0.1"
