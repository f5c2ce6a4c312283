// Touch on a chart: what a mouse does by dragging, a finger does too.
//
// One finger dragged across the plot selects a time span (uPlot's own
// selection box, as a mouse drag shows it) and zooms to it on release; two
// fingers pinch: the time under their midpoint stays put while the span
// shrinks or grows with their distance, applied when they lift.  A vertical
// swipe still scrolls the page (`touch-action: pan-y`); a double tap goes back
// (the browser's dblclick).  `pinchSpan` is pure; tests/web/js/touch.test.mjs
// runs it in node.

const MIN_DRAG = 10;  // CSS pixels: less is a tap, not a selection

// The span after a pinch: [start, end] scaled by how far apart the fingers
// were (`from`) and are (`to`), about the time `at` under their first midpoint.
export function pinchSpan(start, end, at, from, to) {
  const factor = from / Math.max(1, to);
  return [at - (at - start) * factor, at + (end - at) * factor];
}

// Wire `u` (a uPlot) for touch; `zoom(start, end)` applies a span.
export function touchZoom(u, zoom) {
  const over = u.over;
  over.style.touchAction = "pan-y";
  let drag = null;   // {x0, x}: one finger's start and latest x, in plot pixels
  let pinch = null;  // {d0, d, at}: fingers' first and latest distance, the time under their midpoint
  const left = () => over.getBoundingClientRect().left;
  const spread = (t) => Math.abs(t[0].clientX - t[1].clientX);

  over.addEventListener("touchstart", (e) => {
    if (e.touches.length === 1) {
      const x = e.touches[0].clientX - left();
      drag = { x0: x, x };
      pinch = null;
    } else if (e.touches.length === 2) {
      const mid = (e.touches[0].clientX + e.touches[1].clientX) / 2 - left();
      pinch = { d0: spread(e.touches), d: spread(e.touches), at: u.posToVal(mid, "x") };
      drag = null;
      clear();
      e.preventDefault();
    }
  }, { passive: false });

  over.addEventListener("touchmove", (e) => {
    if (pinch && e.touches.length === 2) {
      pinch.d = spread(e.touches);
      e.preventDefault();
    } else if (drag && e.touches.length === 1) {
      drag.x = Math.min(Math.max(0, e.touches[0].clientX - left()), over.clientWidth);
      const a = Math.min(drag.x0, drag.x);
      u.setSelect({ left: a, width: Math.abs(drag.x - drag.x0), top: 0, height: over.clientHeight }, false);
    }
  }, { passive: false });

  over.addEventListener("touchend", (e) => {
    if (pinch && e.touches.length < 2) {
      const { min, max } = u.scales.x;
      if (Math.abs(pinch.d - pinch.d0) >= MIN_DRAG) zoom(...pinchSpan(min, max, pinch.at, pinch.d0, pinch.d));
      pinch = null;
    } else if (drag && e.touches.length === 0) {
      clear();
      if (Math.abs(drag.x - drag.x0) >= MIN_DRAG) {
        const a = u.posToVal(Math.min(drag.x0, drag.x), "x");
        const b = u.posToVal(Math.max(drag.x0, drag.x), "x");
        if (b > a) zoom(a, b);
      }
      drag = null;
    }
  });
  over.addEventListener("touchcancel", () => { drag = null; pinch = null; clear(); });

  function clear() {
    u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
  }
}
