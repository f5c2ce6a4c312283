"""`telemetry` with the MQTT reader's fast path off: every message through plain paho.

    python -m bench.plain_paho serve --config FILE --port P

The same command line as `python -m telemetry`; before it runs, the reader's
`paho_fastpath.install` is replaced by one that leaves paho's socket alone, so
paho reads every packet itself (a `select` and a packet per `loop_read()`) and every
message comes through `on_message`, one at a time.  For `bench.loads`, which
measures the fast path against this.
"""

from __future__ import annotations

import sys
from typing import Any

from devices import paho_fastpath


class _Nothing:
    """What the reader asks of an installed `ReadAhead`: nothing is ever held, and
    paho reads whatever comes."""

    def held(self) -> int:
        return 0

    def fill(self) -> bool:
        return True


def _leave_alone(client: Any, take: Any, v5: bool) -> Any:
    return _Nothing()


def main() -> int:
    paho_fastpath.install = _leave_alone
    from telemetry.cli import main as telemetry  # noqa: PLC0415 (after the switch)

    return telemetry(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
