// Every module but main.js imports without a DOM: nothing touches document or
// window until it is called (main.js is the one that starts the page).
import assert from "node:assert/strict";
import { test } from "node:test";

test("the DOM modules import cleanly where there is no DOM", async () => {
  assert.equal(typeof globalThis.document, "undefined");
  for (const name of ["board", "chart", "list", "stream"]) {
    const module = await import(`../../../web/static/${name}.js`);
    assert.ok(Object.keys(module).length > 0, name);
  }
});
