"""MQTT's framing: the packets in a read from a broker's socket."""

from __future__ import annotations

from devices.mqtt_packets import split_packets
from tests.harness.mqtt_wire import PINGRESP, publish_packet


def test_split_packets_takes_plain_publishes_and_leaves_the_rest_to_paho() -> None:
    qos1 = publish_packet(b"a/q", b"1", flags=0x02, packet_id=b"\x00\x07")
    data = b"".join(
        [
            publish_packet(b"a/b", b"21.5"),
            PINGRESP,
            publish_packet(b"a/c", b"", flags=0x01),  # retained, empty payload: still a message
            qos1,
            publish_packet(b"a/d", b"x" * 10)[:-3],  # the rest has not arrived yet
        ]
    )
    publishes, others, used, missing = split_packets(data, v5=False)
    assert publishes == [(b"a/b", b"21.5"), (b"a/c", b"")]
    assert others == [PINGRESP, qos1]
    assert data[used:] == publish_packet(b"a/d", b"x" * 10)[:-3]
    assert missing == 3


def test_split_packets_reads_mqtt5_properties_only_when_there_are_none() -> None:
    plain = publish_packet(b"t", b"\x00" + b"7")  # property length 0, then the payload
    alias = publish_packet(b"t", b"\x03\x23\x00\x01" + b"7")  # a topic alias: paho's
    publishes, others, _, _ = split_packets(plain + alias, v5=True)
    assert publishes == [(b"t", b"7")]
    assert others == [alias]


def test_split_packets_leaves_a_malformed_length_to_paho() -> None:
    good = publish_packet(b"a", b"1")
    bad = bytes([0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]) + b"junk"
    publishes, others, used, _ = split_packets(good + bad, v5=False)
    assert publishes == [(b"a", b"1")]
    assert others == [bad]  # paho refuses it and drops the connection
    assert used == len(good + bad)
    # A length whose bytes have not all come is waited for, not refused.
    assert split_packets(bytes([0x30, 0x80]), v5=False) == ([], [], 0, 0)
