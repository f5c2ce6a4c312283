"""The real mosquitto for the tests: one per session, and private ones on demand.

`mosquitto` is shared by the whole session; tests keep to their own topics.
`mosquitto_factory()` gives a test its own broker, which it may `stop()` and
`start()` again on the same port to play a broker restart, or create with
`start=False` to play a broker that is not there yet.  The broker itself is
`simulators.broker.Broker`, the one `telemetry demo` runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from simulators.broker import Broker, free_port
from tests.harness.parts import find_program


def _program() -> str:
    return find_program(
        "mosquitto", "/usr/sbin", hint="sudo apt-get install mosquitto mosquitto-clients"
    )


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """A broker shared by the session."""
    broker = Broker(_program(), tmp_path_factory.mktemp("mosquitto"), free_port())
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


MosquittoFactory = Callable[..., Broker]


@pytest.fixture
def mosquitto_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoFactory]:
    """Make private brokers: `mosquitto_factory(start=True, listener_options=(), anonymous=True)`.

    `listener_options` are mosquitto.conf lines for the listener (`certfile ...`
    for TLS).  Every broker made is stopped after the test.
    """
    program = _program()
    brokers: list[Broker] = []

    def make(
        start: bool = True, listener_options: tuple[str, ...] = (), anonymous: bool = True
    ) -> Broker:
        folder = tmp_path_factory.mktemp("mosquitto")
        broker = Broker(program, folder, free_port(), listener_options, anonymous=anonymous)
        brokers.append(broker)
        return broker.start() if start else broker

    try:
        yield make
    finally:
        for broker in brokers:
            broker.stop()
