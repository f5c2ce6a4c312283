import os
import time

import pytest

pytest_plugins = [
    "tests.harness.broker",
    "tests.harness.hook",
    "tests.harness.serialdev",
    "tests.harness.server",
    "tests.harness.browser",
    "tests.harness.mqtt_reader",
    "tests.harness.victoria",
    "tests.harness.certificates",
    "tests.harness.mqtt_watch",
    "tests.harness.republish",
]

# Zone-less device times are read in the machine's own zone (the `TZ` variable,
# else /etc/localtime): the tests run in UTC wherever they run, and a test that
# means another zone sets it (`tests/core/conftest.py`'s `machine_zone`).
os.environ["TZ"] = "UTC"
time.tzset()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that drive the browser run last, in their order.  Playwright's sync
    API keeps an event loop set as the thread's current one for as long as the
    session's browser lives, and every `asyncio.run` after it fails ("cannot be
    called from a running event loop"): tests/bench's browser smoke test, first
    by path, broke a hundred core tests after it."""
    browsing = [i for i in items if "browser" in getattr(i, "fixturenames", ())]
    if browsing:
        others = [i for i in items if "browser" not in getattr(i, "fixturenames", ())]
        items[:] = others + browsing
