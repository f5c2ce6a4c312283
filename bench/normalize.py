"""Normalization cost per payload family, against merely decoding the same payloads.

The payloads are the corpus of real ones in `tests/corpus/` (one file a
family), routed as `telemetry parse` routes them.  The project figure is
messages per CPU-second through `Normalizer.normalize` (which also names,
checks and converts); the baseline is the least any reader must do with the
same bytes: `json.loads` for JSON payloads, `bytes.decode().split()` for line
formats.  Both run in this process, interleaved per repeat; the corpus is
cycled to a few thousand messages so that each timing is well above the
clock's resolution.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from bench.model import Options, Report, Row
from telemetry.config import Config, parse_config
from telemetry.model import RawMessage
from telemetry.parsetool import ParseTool

NAME = "normalize"
CORPUS = Path(__file__).resolve().parent.parent / "tests" / "corpus"
MESSAGES, QUICK_MESSAGES = 20_000, 4_000


def _load(path: Path) -> tuple[Config, list[RawMessage]]:
    document = json.loads(path.read_text(encoding="utf-8"))
    config = parse_config(document["config"], env={}) if document.get("config") else Config()
    tool = ParseTool(config)
    messages: list[RawMessage] = []
    for case in document["cases"]:
        try:
            messages.extend(tool.reader.messages(case["input"]))
        except ValueError:
            continue  # a case about a malformed input line, not a payload
    return config, messages


def _bare(payload: bytes) -> object:
    if payload.lstrip()[:1] in (b"{", b"["):
        try:
            return json.loads(payload)
        except ValueError:
            return None
    return payload.decode("utf-8", "replace").split()


def _cpu(handle: Callable[[RawMessage], object], batch: list[RawMessage]) -> float:
    start = time.process_time()
    for message in batch:
        handle(message)
    return time.process_time() - start


def _bare_message(message: RawMessage) -> object:
    return _bare(message.payload)


def run(options: Options, progress: Callable[[str], None] = lambda _: None) -> Report:
    target = QUICK_MESSAGES if options.quick else MESSAGES
    report = Report(NAME)
    for path in sorted(CORPUS.glob("*.json")):
        config, messages = _load(path)
        if not messages:
            continue
        batch = (messages * (target // len(messages) + 1))[:target]
        project, baseline = [], []
        for _ in range(options.repeat):
            tool = ParseTool(config)  # fresh state: what earlier cases taught is relearned
            project.append(len(batch) / _cpu(tool.normalizer.normalize, batch))
            baseline.append(len(batch) / _cpu(_bare_message, batch))
        progress(f"normalize {path.stem}: {len(messages)} corpus payloads, {len(batch)} per run")
        report.rows.append(
            Row.compare(
                NAME,
                path.stem,
                "messages/CPU-s",
                project=project,
                baseline_name="json.loads / str.split",
                baseline=baseline,
            )
        )
    report.notes.append(
        "normalize: payloads from tests/corpus (real devices' documented payloads), "
        f"{target} per run; baseline = json.loads for JSON payloads, "
        "decode().split() for the others"
    )
    return report
