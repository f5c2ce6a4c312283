"""`[ingest]` (HTTP ingest) and `[record]` (a recording of every raw message)."""

from __future__ import annotations

from telemetry.config.model import RECORD_KEEP, RECORD_SIZES, Config, IngestConfig, RecordConfig
from telemetry.config.table import NAME, PATH, Problems, Table, show


def ingest_section(t: Table) -> IngestConfig:
    d = IngestConfig()
    cfg = IngestConfig(
        http=t.typed("http", bool, "true or false") or False,
        source=t.string("source", d.source, pattern=NAME, form="a name of letters, digits, -_."),
        max_body=t.size("max_body", d.max_body, 1024, 64 * 1024**2),
        max_inflated=t.size("max_inflated", d.max_inflated, 1024, 256 * 1024**2),
        max_lines=t.integer("max_lines", d.max_lines, 1, 1_000_000),
        rate=t.integer("rate", d.rate, 1, 100_000),
    )
    if cfg.max_inflated < cfg.max_body:
        t.problems.add(t.key("max_inflated"), "is smaller than max_body; expected at least it")
    t.finish()
    return cfg


def record_section(t: Table) -> RecordConfig:
    d = RecordConfig()
    cfg = RecordConfig(
        file=t.string("file", d.file, pattern=PATH, form="a file path") or None,
        max_size=t.size("max_size", d.max_size, *RECORD_SIZES),
        keep=t.integer("keep", d.keep, *RECORD_KEEP),
    )
    t.finish()
    return cfg


def check_ingest_name(problems: Problems, config: Config) -> None:
    """HTTP ingest's source name must not be a reader's: their counters would mix."""
    ingest = config.ingest
    readers = {m.name for m in config.mqtt} | {s.name for s in config.serial}
    readers |= {s.name for s in config.system} | {c.name for c in config.command}
    if ingest.http and ingest.source in readers:
        problems.add(
            "ingest.source",
            f"{show(ingest.source)} is a reader's name too; give HTTP ingest a name of its own",
        )
