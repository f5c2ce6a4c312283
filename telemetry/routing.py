"""One broker's routing table: which subscription reads a topic.

A message on a topic is read once, the way the first `[[mqtt.subscribe]]`
entry (in the order of the config) whose filter matches the topic says (its
template, format, device): with `tele/+/SENSOR` (a template) before `tele/#`
(`format = "auto"`), `tele/kitchen/SENSOR` is read by the first and
`tele/kitchen/STATE` by the second.  Put specific filters before broad ones,
as in a firewall's rules.  Reading a message once per matching entry instead
made two series of every reading under overlapping filters (`#` beside
`homeassistant/#`), each name a guess of its own.  The MQTT
reader asks this table on both of its paths (the QoS 0 PUBLISHes it cuts out
of the socket, and paho's `on_message` for the rest), and `telemetry parse`
asks it too, so the tool routes as the server does.

Matching is MQTT's, as paho's `topic_matches_sub` does it (`+` one level, `#`
the rest, no wildcard at the first level of a `$` topic); a shared
subscription `$share/<group>/<filter>` receives what `<filter>` matches.

What the reader learns is remembered per topic as received (bytes), bounded
as everything remembered is (`telemetry.remember`); topics no entry matches
are worked out each time.  A table belongs to one reader thread (or the tool): it is not
locked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from telemetry.config import Subscription
from telemetry.model import Route
from telemetry.remember import Remembered
from telemetry.topics import delivered_filter, filter_matches

# A topic as text and the route it gets: the first matching entry's.
Routed = tuple[str, Route]


class RoutingTable:
    """The routes of one broker's subscriptions, and which one a topic gets."""

    __slots__ = ("_entries", "_remembered", "known")

    known: Callable[[bytes], Routed | None]

    def __init__(self, source: str, subscriptions: Iterable[Subscription]) -> None:
        # (the filter topics are delivered on, the route), in config order.
        self._entries = tuple((delivered_filter(s.topic), s.route(source)) for s in subscriptions)
        self._remembered: Remembered[bytes, Routed] = Remembered()
        # `known(raw_topic)`: what `learn` remembered for this topic, or None.  The
        # dict's own `get`, so a topic seen before costs one lookup and no call of
        # ours: the reader asks for every message.  (`clear` keeps the same dict.)
        self.known = self._remembered.get

    def route(self, topic: str) -> Route | None:
        """The route of the first subscription, in config order, that receives `topic`;
        None when none does."""
        for topic_filter, route in self._entries:
            if filter_matches(topic_filter, topic):
                return route
        return None

    def learn(self, raw_topic: bytes) -> tuple[str, Route | None]:
        """`raw_topic` as text and its route (None when no subscription receives it);
        remembered when it has one.  Raises UnicodeDecodeError for a topic that is
        not UTF-8."""
        topic = raw_topic.decode("utf-8")
        route = self.route(topic)
        if route is None:
            return topic, None
        routed = self._remembered[raw_topic] = (topic, route)
        return routed

    def __len__(self) -> int:
        """How many topics are remembered."""
        return len(self._remembered)
