pytest_plugins = [
    "tests.harness.broker",
    "tests.harness.serialdev",
    "tests.harness.server",
    "tests.harness.browser",
    "tests.harness.mqtt_reader",
]
