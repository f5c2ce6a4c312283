// alerts.js: which alerts fire, which have just started, in words.
import assert from "node:assert/strict";
import { test } from "node:test";

import { AlertSet, alertText } from "../../../web/static/alerts.js";

const a = (rule, series, state, since = 100, value = 1) => ({ rule, series, state, since, value });

test("firing alerts are kept until they resolve; a full set replaces them and notifies nothing", () => {
  const set = new AlertSet();
  assert.deepEqual(set.apply({ full: true, alerts: [a("Freezer", "f/t", "firing")] }), []);
  assert.deepEqual(set.firing().map((x) => x.rule), ["Freezer"]);
  const started = set.apply({ full: false, alerts: [a("Plug", "p/power", "pending"), a("Plug", "p/power", "firing", 120)] });
  assert.deepEqual(started.map((x) => x.rule), ["Plug"]);
  assert.deepEqual([...set.series()].sort(), ["f/t", "p/power"]);
  // Still firing: not a new start.
  assert.deepEqual(set.apply({ full: false, alerts: [a("Plug", "p/power", "firing", 120)] }), []);
  set.apply({ full: false, alerts: [a("Freezer", "f/t", "resolved")] });
  assert.deepEqual(set.firing().map((x) => x.rule), ["Plug"]);
  set.apply({ full: true, alerts: [] });
  assert.deepEqual(set.firing(), []);
});

test("an alert in words: rule, series, value with its unit, how long", () => {
  assert.equal(alertText(a("Freezer too warm", "freezer/temperature", "firing", 1000, -12.3), 1300, () => "°C"),
    "Freezer too warm: freezer/temperature -12.3 °C, for 5 min");
  assert.equal(alertText({ ...a("Silent", "shed/t", "firing", 1000), value: null }, 1001), "Silent: shed/t, for just now");
});
