"""The payload families, one module each, found at import by `registry.families()`.

A family module defines `FAMILY`, an object with `name`, `transports`,
`priority` (lower is tried first by `format = "auto"`), `sniff(ctx)` and
`parse(ctx, emit)`; see `telemetry.normalize.base`.
"""
