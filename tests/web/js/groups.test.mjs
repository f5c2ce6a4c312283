// groups.js: which chart each series is drawn on, and its title.
import assert from "node:assert/strict";
import { test } from "node:test";

import { chartKey, chartTitle, chartUnits, groupSeries, legendName, quantity } from "../../../web/static/groups.js";

const info = (id, unit = null) => {
  const [device, ...rest] = id.split("/");
  return { id, device, sensor: rest.join("/"), unit };
};

test("what a sensor measures is the last word of its name", () => {
  assert.equal(quantity("AM2301.Humidity"), "humidity");
  assert.equal(quantity("env.influx0.humidity"), "humidity");
  assert.equal(quantity("emeter/0/power"), "power");
  assert.equal(quantity("..."), "");
  assert.equal(quantity("relay/0"), "relay");  // a channel number is not what it measures
  assert.equal(quantity("0"), "");
});

test("series share a chart by unit, by quantity without one, or have their own when split", () => {
  assert.equal(chartKey(info("a/t", "°C"), false), "u:°C");
  assert.equal(chartKey(info("zb0/humidity"), false), "n:humidity");
  assert.equal(chartKey(info("a/t", "°C"), true), "s:a/t");
  // A unit of many quantities is split by what the sensor measures.
  assert.equal(chartKey(info("a/AM2301.Humidity", "%"), false), "u:%:humidity");
  assert.equal(chartKey(info("zb0/battery", "%"), false), "u:%:battery");
  assert.equal(chartKey(info("shelly/relay/1"), false), "n:relay");
});

test("charts of a unit come first, series by id within each, unselected ones left out", () => {
  const infos = [info("zb0/voltage"), info("b/t", "°C"), info("zb0/humidity"), info("a/t", "°C"),
    info("a/h", "%"), info("c/t", "°C")];
  const groups = groupSeries(infos, false, (id) => id !== "c/t");
  assert.deepEqual([...groups], [
    ["u:%:h", ["a/h"]],
    ["u:°C", ["a/t", "b/t"]],
    ["n:humidity", ["zb0/humidity"]],
    ["n:voltage", ["zb0/voltage"]],
  ]);
  assert.equal(groupSeries(infos, true, () => true).size, infos.length);
});

test("a chart's title names what it measures, in words, and how many series", () => {
  assert.deepEqual(chartTitle("u:°C", [info("a/AM2301.Temperature", "°C"), info("b/DS18B20.Temperature", "°C")]),
    { title: "Temperature (°C)", detail: "· 2 series" });
  assert.deepEqual(chartTitle("u:kWh", [info("plug/ENERGY.Total", "kWh")]), { title: "Energy (kWh)", detail: "" });
  assert.deepEqual(chartTitle("u:%:humidity", [info("a/AM2301.Humidity", "%"), info("b/sensor/humidity", "%")]),
    { title: "Humidity (%)", detail: "· 2 series" });
  assert.deepEqual(chartTitle("n:voltage", [info("zb0/voltage")]), { title: "Voltage (no unit)", detail: "" });
  assert.deepEqual(chartTitle("u:ppm:co2", [info("air/co2", "ppm")]), { title: "CO₂ (ppm)", detail: "" });
  assert.deepEqual(chartTitle("s:shed/temperature", [info("shed/temperature", "°C")]),
    { title: "shed / temperature (°C)", detail: "" });
  // Channels by number are named by what they are, never "0, 1".
  assert.deepEqual(chartTitle("n:relay", [info("sh/relay/0"), info("sh/relay/1")]),
    { title: "Relay (no unit)", detail: "· 2 series" });
  const many = ["a", "b", "c", "d"].map((q) => info("x/" + q, "dB"));
  assert.equal(chartTitle("u:dB:a", many).title, "4 quantities (dB)");
  assert.equal(chartTitle("u:dB:", [info("x/0", "dB")]).title, "Value (dB)");
});

test("a legend names device and sensor, the sensor alone on a chart of its own", () => {
  assert.equal(legendName("u:°C", info("shed/temperature", "°C"), 2), "shed / temperature");
  assert.equal(legendName("s:shed/temperature", info("shed/temperature", "°C"), 1), "temperature");
});

test("on/off states have charts of their own, after the rest, titled on/off", () => {
  const state = (id) => ({ ...info(id), kind: "state" });
  assert.equal(chartKey(state("door/contact"), false), "st:contact");
  const groups = groupSeries([state("door/contact"), info("zb0/contact"), info("a/t", "°C")], false, () => true);
  assert.deepEqual([...groups.keys()], ["u:°C", "n:contact", "st:contact"]);
  assert.deepEqual(chartTitle("st:contact", [state("door/contact"), state("window/contact")]),
    { title: "Contact (on/off)", detail: "· 2 series" });
});

test("a named group shares one chart whatever the units; grouping by device; display names", () => {
  const plug = { ...info("plug/power", "W"), chart: "Plug" };
  const energy = { ...info("plug/energy", "kWh"), chart: "Plug" };
  assert.equal(chartKey(plug, false), "g:Plug");
  const groups = groupSeries([info("a/t", "°C"), energy, plug], false, () => true);
  assert.deepEqual([...groups], [["g:Plug", ["plug/energy", "plug/power"]], ["u:°C", ["a/t"]]]);
  assert.deepEqual(chartUnits([energy, plug]), ["kWh", "W"]);
  assert.deepEqual(chartTitle("g:Plug", [energy, plug]), { title: "Plug (kWh, W)", detail: "· 2 series" });
  assert.equal(chartKey(info("a/t", "°C"), false, "device"), "d:a|u:°C");
  assert.deepEqual(chartTitle("d:a|u:°C", [info("a/t", "°C")]).title, "a · Temperature (°C)");
  assert.equal(chartKey(info("a/t", "°C"), false, "none"), "s:a/t");
  assert.equal(legendName("u:°C", { ...info("a/t", "°C"), name: "Attic" }, 2), "Attic");
  assert.equal(legendName("d:a|u:°C", info("a/t", "°C"), 2), "t");
});
