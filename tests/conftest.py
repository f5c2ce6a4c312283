pytest_plugins = [
    "tests.harness.broker",
    "tests.harness.serialdev",
    "tests.harness.server",
    "tests.harness.browser",
]
