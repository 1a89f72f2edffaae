"""Shared by the federation tests: two instances, alice and bob, federating in one process
(a test module with other needs defines its own `net`)."""

from __future__ import annotations

import pytest

from tests.conftest import Network


@pytest.fixture
async def net(tmp_path):
    async with Network(tmp_path) as network:
        await network.add("alice", 9101, "alice")
        await network.add("bob", 9102, "bob")
        yield network
