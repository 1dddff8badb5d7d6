"""One network and one browser for every browser test of the portal (test_browser.py and
test_flows.py): CN, CN-GD and CN-SH with their agencies' work left to the tests, and SG, where a
certificate of origin is used. Started once, when the first test that needs them runs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import running_network
from tests.harness import Network, NetworkSpec
from tests.web.browser.tabs import chromium

SPEC = NetworkSpec(provinces=2, foreign=1, simulator=False)


@pytest.fixture(scope="package")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    with running_network(tmp_path_factory.mktemp("portal-net"), SPEC) as network:
        yield network


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b
