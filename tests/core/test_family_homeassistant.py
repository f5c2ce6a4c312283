"""The `homeassistant` family: discovery configs teach the unit and device of state topics."""

from __future__ import annotations

import json
import math

from hypothesis import given
from hypothesis import strategies as st

from telemetry.model import Outcome, RawMessage, Route
from telemetry.normalize import Normalizer
from telemetry.normalize.families.homeassistant import value_path

AUTO = Route("test", "mqtt")


def feed(n: Normalizer, topic: str, payload: str | bytes, route: Route = AUTO) -> Outcome:
    data = payload.encode() if isinstance(payload, str) else payload
    return n.normalize(RawMessage(route, topic, data, 1000.0))


def config(n: Normalizer, object_id: str, **body: object) -> Outcome:
    return feed(n, f"homeassistant/sensor/{object_id}/config", json.dumps(body))


def test_homeassistant_abbreviated_config_teaches_the_unit_of_an_esphome_topic() -> None:
    n = Normalizer()
    out = config(
        n,
        "node/temp",
        stat_t="node/sensor/temp/state",
        unit_of_meas="°C",
        dev={"ids": ["abc"], "name": "Node"},
    )
    assert not out.readings and not out.errors
    [r] = feed(n, "node/sensor/temp/state", "21.5").readings
    # named as the ESPHome family names its topics, with or without discovery
    assert (r.device, r.sensor, r.value, r.unit) == ("node", "temp", 21.5, "°C")


def test_homeassistant_tilde_expands_at_the_start_and_the_end() -> None:
    n = Normalizer()
    config(n, "a", **{"~": "base/x", "stat_t": "~/state", "unit_of_meas": "W"})
    config(n, "b", **{"~": "base/y", "stat_t": "pre/~", "unit_of_meas": "V"})
    assert feed(n, "base/x/state", "5").readings[0].unit == "W"
    assert feed(n, "pre/base/y", "5").readings[0].unit == "V"


def test_homeassistant_the_route_template_names_the_device() -> None:
    n = Normalizer()
    config(n, "t", stat_t="room/temp", unit_of_meas="°C", dev={"name": "Discovered"})
    route = Route("test", "mqtt", template="{device}/{sensor}")
    [r] = feed(n, "room/temp", "20", route).readings
    assert r.device == "room" and r.unit == "°C"


def test_homeassistant_json_template_fields_and_missing_ones() -> None:
    n = Normalizer()
    config(
        n, "t", stat_t="z/dev", unit_of_meas="°C", val_tpl="{{ value_json.temperature | float }}"
    )
    config(n, "h", stat_t="z/dev", unit_of_meas="%", val_tpl="{{ value_json['humidity'] }}")
    out = feed(n, "z/dev", '{"temperature": 20.5}')
    assert [(r.sensor, r.value) for r in out.readings] == [("temperature", 20.5)]
    assert [e.reason for e in out.errors] == ["missing_field"]


def test_homeassistant_richer_templates_are_counted_not_evaluated() -> None:
    n = Normalizer()
    config(n, "t", stat_t="s", val_tpl="{{ (value | float / 60) | round(2) }}")
    assert [e.reason for e in feed(n, "s", "120").errors] == ["unsupported_template"]


def test_homeassistant_an_empty_config_forgets_the_state_topic() -> None:
    n = Normalizer()
    config(n, "t", stat_t="s/t", unit_of_meas="W")
    feed(n, "homeassistant/sensor/t/config", "")
    [r] = feed(n, "s/t", "3").readings
    assert r.unit is None  # read by the number family again


def test_homeassistant_sensor_config_without_state_topic_is_counted() -> None:
    n = Normalizer()
    assert [e.reason for e in config(n, "t", name="x").errors] == ["discovery_incomplete"]


def test_homeassistant_switch_and_binary_sensor_configs_teach_on_off_states() -> None:
    n = Normalizer()
    out = feed(n, "homeassistant/switch/x/config", json.dumps({"stat_t": "sw/state"}))
    assert not out.errors
    [r] = feed(n, "sw/state", "ON").readings
    assert (r.device, r.sensor, r.value, r.unit, r.kind) == ("sw", "x", 1.0, None, "state")
    body = {"stat_t": "door/contact", "pl_on": "open", "pl_off": "shut", "dev_cla": "door"}
    feed(n, "homeassistant/binary_sensor/door/config", json.dumps(body))
    assert [(r.value, r.kind) for r in feed(n, "door/contact", "shut").readings] == [(0.0, "state")]
    assert feed(n, "door/contact", "ajar").readings == []  # neither word: no state


def test_homeassistant_other_components_teach_nothing() -> None:
    n = Normalizer()
    out = feed(n, "homeassistant/light/x/config", json.dumps({"stat_t": "light/state"}))
    assert not out.errors
    assert not feed(n, "light/state", "ON").readings  # read by `number`, which counts it
    assert "light/state" not in n.state.space("ha_discovery")


def test_homeassistant_config_teaches_whatever_format_the_route_names() -> None:
    n = Normalizer()
    route = Route("test", "mqtt", "number", template="{device}/{sensor}")
    body = {"stat_t": "boiler/flow", "unit_of_meas": "°C"}
    assert not feed(n, "homeassistant/sensor/flow/config", json.dumps(body), route).errors
    [r] = feed(n, "boiler/flow", "41.5", route).readings
    assert (r.device, r.sensor, r.unit) == ("boiler", "flow", "°C")


def test_homeassistant_a_unit_learned_late_reaches_the_series_already_read() -> None:
    n = Normalizer()
    route = Route("test", "mqtt", "number", template="{device}/{sensor}")
    [early] = feed(n, "boiler/flow", "41.5", route).readings
    assert early.unit is None
    body = {"stat_t": "boiler/flow", "unit_of_meas": "°C"}
    out = feed(n, "homeassistant/sensor/flow/config", json.dumps(body), route)
    assert out.units == [("boiler/flow", "°C")]


def test_homeassistant_value_path_forms() -> None:
    assert value_path("{{ value_json.a.b }}") == ("a", "b")
    assert value_path("{{value_json['DS18B20-2'].Temperature}}") == ("DS18B20-2", "Temperature")
    assert value_path('{{ value_json["x"] | is_defined }}') == ("x",)
    assert value_path("{{ value }}") is None
    assert value_path("{{ value | float }}") is None
    assert value_path("{{ value_json }}") != ("",)
    assert value_path("{% if value %}1{% endif %}") == value_path("{{ value_json.a * 2 }}")


topics = st.sampled_from(
    [
        "homeassistant/sensor/a/config",
        "homeassistant/sensor/n/a/config",
        "s/t",
        "homeassistant/x/config",
        "homeassistant/config",
    ]
)


@given(st.lists(st.tuples(topics, st.binary(max_size=200)), max_size=8))
def test_homeassistant_never_raises_on_arbitrary_bytes(messages: list[tuple[str, bytes]]) -> None:
    n = Normalizer()
    for topic, payload in messages:
        out = feed(n, topic, payload)
        assert "parser_error" not in [e.reason for e in out.errors]
        assert all(math.isfinite(r.value) for r in out.readings)


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.text(max_size=8) | st.integers(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(
    st.dictionaries(
        st.sampled_from(["stat_t", "~", "val_tpl", "dev", "unit_of_meas", "name"]),
        json_values,
        max_size=6,
    ),
    json_values,
)
def test_homeassistant_any_config_and_state_never_raise(
    body: dict[str, object], state: object
) -> None:
    n = Normalizer()
    body.setdefault("stat_t", "s/t")
    feed(n, "homeassistant/sensor/x/config", json.dumps(body))
    out = feed(n, "s/t", json.dumps(state))
    assert "parser_error" not in [e.reason for e in out.errors]
    assert all(math.isfinite(r.value) for r in out.readings)


@given(
    st.dictionaries(
        st.from_regex(r"[a-z]{1,6}", fullmatch=True),
        st.floats(allow_nan=False, allow_infinity=False),
        min_size=1,
        max_size=5,
    )
)
def test_homeassistant_round_trips_every_announced_field(fields: dict[str, float]) -> None:
    n = Normalizer()
    for key in fields:
        config(
            n,
            key,
            stat_t="dev/state",
            unit_of_meas="W",
            val_tpl=f"{{{{ value_json.{key} }}}}",
            dev={"name": "d"},
        )
    out = feed(n, "dev/state", json.dumps(fields))
    assert {r.sensor: r.value for r in out.readings} == fields
