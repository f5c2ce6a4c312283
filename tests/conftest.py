import os
import time

pytest_plugins = [
    "tests.harness.broker",
    "tests.harness.serialdev",
    "tests.harness.server",
    "tests.harness.browser",
    "tests.harness.mqtt_reader",
]

# Zone-less device times are read in the machine's own zone (the `TZ` variable,
# else /etc/localtime): the tests run in UTC wherever they run, and a test that
# means another zone sets it (`tests/core/conftest.py`'s `machine_zone`).
os.environ["TZ"] = "UTC"
time.tzset()
