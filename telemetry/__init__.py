"""The core of the telemetry server: model, config, normalization, store, hub.

Nothing here starts anything at import time; `telemetry.server.build_server`
builds a running server from a `telemetry.config.Config`.
"""

__version__ = "0.1.0"
