"""Device availability: the "I am online / I went away" topics firmware publishes.

Each convention is a topic whose last level names it and a small set of words:

| firmware    | last level     | online                     | offline                    |
|-------------|----------------|----------------------------|----------------------------|
| Tasmota     | `LWT`          | `Online`                   | `Offline`                  |
| Zigbee2MQTT | `availability` | `online`, `{"state":...}`  | `offline`, `{"state":...}` |
| Homie v4/v5 | `$state`       | `ready`                    | `lost`, `disconnected`,    |
|             |                |                            | `sleeping`                 |
| ESPHome     | `status`       | `online`                   | `offline`                  |
| Shelly Gen1 | `online`       | `true`                     | `false`                    |

The offline message is usually the MQTT Last Will, which the broker publishes
when the device vanishes without a goodbye.  A word outside the table (Homie's
`init`, `alert`) changes nothing and is not an error.
"""

from __future__ import annotations

import json

_WORDS: dict[str, tuple[frozenset[str], frozenset[str], frozenset[str]]] = {
    # last level: (online words, offline words, words that change nothing)
    "LWT": (frozenset({"online"}), frozenset({"offline"}), frozenset()),
    "availability": (frozenset({"online"}), frozenset({"offline"}), frozenset()),
    "$state": (
        frozenset({"ready"}),
        frozenset({"lost", "disconnected", "sleeping"}),
        frozenset({"init", "alert"}),
    ),
    "status": (frozenset({"online"}), frozenset({"offline"}), frozenset()),
    "online": (frozenset({"true"}), frozenset({"false"}), frozenset()),
}
LEVELS = frozenset(_WORDS)
UNCHANGED = "unchanged"


def parse_availability(level: str, payload: bytes) -> bool | str | None:
    """True/False for online/offline, `UNCHANGED` for a known neutral word, else None.

    None means "not an availability message": the caller reads it as data.
    """
    words = _WORDS.get(level)
    if words is None or len(payload) > 64:
        return None
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        return None
    if level == "availability" and text.startswith("{"):
        try:
            state = json.loads(text).get("state")
        except (ValueError, AttributeError):
            return None
        text = state if isinstance(state, str) else ""
    word = text.lower()
    online, offline, neutral = words
    if word in online:
        return True
    if word in offline:
        return False
    return UNCHANGED if word in neutral else None
