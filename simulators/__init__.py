"""Simulated devices that stand in for real hardware in the demo and the tests.

- `signals`: seeded signal shapes and modifiers (dropouts, stuck, spikes), `Burst`, `Ticker`;
- `firmware`: the MQTT payloads of real firmware, one family per module class;
- `mqtt`: `MqttSimulator`, devices publishing a family to a broker, with faults;
- `ptydevice`, `serial`, `lines`, `nmea`: serial devices on pseudo-terminals;
- `faults`: the bad payloads and line noise the fault options inject;
- `inprocess`: sensors inside the server process; `broker`: a private mosquitto;
- `cli`: `telemetry sim mqtt|serial`.
"""
