"""What a run remembers from its input, and the one bound on all of it.

Every map filled from what devices send (a topic's routes, its names, `auto`'s
plan for it, a series' checked names, Tasmota's unit rule per path, what the
families learn in `State`) is a `Remembered`: a plain dict whose writes are
bounded, so a flood of new topics or names cannot grow it without limit.

- At most `REMEMBERED` entries.  When a new key comes to a full map, every
  entry is forgotten at once and learning starts anew: the cheapest policy
  (a hit is the dict's own lookup, no order kept), and one that recovers after
  a flood instead of staying full of what the flood brought.
- A key longer than `REMEMBERED_KEY_LENGTH` characters in all (a str or bytes,
  or the str and bytes parts of a tuple) is not kept: a topic may be 64 KiB,
  and 10,000 of those would be 640 MB.  Its value is worked out each time.

Reads are the dict's own (`get`, `in`, `[]`), so a hit costs one dict lookup;
writes go through `[]=` or `remember` (not `setdefault` or `update`, which
would pass the bound by).  Each map has one owner and no lock.
"""

from __future__ import annotations

from typing import TypeVar

REMEMBERED = 10_000  # entries of any one remembered map
REMEMBERED_KEY_LENGTH = 256  # characters (or bytes) of a key that is kept

K = TypeVar("K")
V = TypeVar("V")


def key_length(key: object) -> int:
    """The characters (bytes) of text in `key`: a str or bytes, or a tuple of them
    (other parts, such as None, count nothing)."""
    if isinstance(key, str | bytes):
        return len(key)
    if isinstance(key, tuple):
        return sum(key_length(part) for part in key)
    return 0


class Remembered(dict[K, V]):
    """A dict of at most `REMEMBERED` entries with keys of at most
    `REMEMBERED_KEY_LENGTH` characters; a new key when full forgets them all."""

    __slots__ = ()

    def __setitem__(self, key: K, value: V) -> None:
        if key_length(key) > REMEMBERED_KEY_LENGTH:
            return
        if len(self) >= REMEMBERED and key not in self:
            self.clear()
        super().__setitem__(key, value)

    def remember(self, key: K, value: V) -> V:
        """`value`, kept under `key` as `[]=` keeps it: for `get(key) or remember(...)`."""
        self[key] = value
        return value
