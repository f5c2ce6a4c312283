"""MQTT's framing: the whole packets in bytes read from a broker's socket.

Pure (no socket, no paho): `paho_fastpath.ReadAhead` cuts each read with
`split_packets` and takes the plain QoS 0 PUBLISHes for itself.
"""

from __future__ import annotations

Publish = tuple[bytes, bytes]  # (topic, payload) of a QoS 0 PUBLISH


def split_packets(data: bytes, v5: bool) -> tuple[list[Publish], list[bytes], int, int]:
    """The whole packets at the start of `data`: QoS 0 PUBLISHes as (topic, payload),
    every other packet as its bytes, where the first incomplete packet starts and
    how many of its bytes are missing (0 when even its length is not all here).

    A PUBLISH that needs paho (QoS 1 and 2 are acknowledged; MQTT 5 properties; a
    topic alias) stays whole.  A length that is not MQTT's (over four bytes) ends
    the split there: paho reads the rest and refuses it, dropping the connection.
    """
    publishes: list[Publish] = []
    others: list[bytes] = []
    at, end_of_data = 0, len(data)
    while at < end_of_data:
        # The remaining length: seven bits a byte, least significant first.
        body, length, shift = at + 1, 0, 0
        while body < end_of_data and shift < 28:
            byte = data[body]
            body += 1
            length |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                break
        else:
            if shift >= 28:  # malformed: leave it and all after it to paho
                others.append(data[at:])
                return publishes, others, end_of_data, 0
            return publishes, others, at, 0  # the length itself is not all here yet
        end = body + length
        if end > end_of_data:
            return publishes, others, at, end - end_of_data
        if data[at] & 0xF6 == 0x30 and length >= 2:  # PUBLISH, QoS 0 (DUP, RETAIN any)
            topic_end = body + 2 + (data[body] << 8 | data[body + 1])
            if v5:  # no properties (one zero byte) is the usual case; else paho's
                simple = topic_end < end and data[topic_end] == 0
                payload_at = topic_end + 1
            else:
                simple, payload_at = True, topic_end
            if simple and body + 2 < topic_end <= end:
                publishes.append((data[body + 2 : topic_end], data[payload_at:end]))
                at = end
                continue
        others.append(data[at:end])
        at = end
    return publishes, others, at, 0
