// Alerts on the page: a banner with every firing alert and how long it has
// fired, the series it concerns marked in the list and on its chart, and a
// browser notification for each new one once the user has allowed them (from
// the banner's button, never asked on load).
//
// The stream's `alert` events (stream.js readAlert) carry states that changed;
// a `full` one (on every opening, resumed streams too) the whole set not ok.
// `AlertSet` keeps them (pure: tests/web/js/alerts.test.mjs runs it in node);
// `AlertBanner` shows them.

import { formatAge, formatValue } from "./format.js";

// The alerts not ok, by rule and series.
export class AlertSet {
  constructor() {
    this.byKey = new Map();  // "rule\nseries" -> {rule, series, state, since, value}
  }

  // An `alert` event; returns the alerts that have just started firing (for a
  // notification: none from a full set, which is what already fired).
  apply(event) {
    if (event.full) this.byKey.clear();
    const started = [];
    for (const a of event.alerts) {
      const key = a.rule + "\n" + a.series;
      const before = this.byKey.get(key);
      if (a.state === "pending" || a.state === "firing") this.byKey.set(key, a);
      else this.byKey.delete(key);
      if (!event.full && a.state === "firing" && (!before || before.state !== "firing")) started.push(a);
    }
    return started;
  }

  // The firing alerts, oldest first.
  firing() {
    return [...this.byKey.values()].filter((a) => a.state === "firing").sort((a, b) => a.since - b.since);
  }

  // The series with a firing alert.
  series() {
    return new Set(this.firing().map((a) => a.series));
  }
}

// "Freezer too warm: freezer/temperature -12.3 °C, for 5 min".
export function alertText(alert, now, unitOf = () => null) {
  const unit = unitOf(alert.series);
  const value = typeof alert.value === "number" ? " " + formatValue(alert.value) + (unit ? " " + unit : "") : "";
  const age = formatAge(now - alert.since).replace(" ago", "").replace("now", "just now");
  return alert.rule + ": " + alert.series + value + ", for " + age;
}

export class AlertBanner {
  // `mark(ids)`: the series with a firing alert, for the list and the charts;
  // `unitOf(id)`: a series' unit.
  constructor(doc, mark, unitOf) {
    this.el = doc.getElementById("alerts");
    this.listEl = doc.getElementById("alert-list");
    this.notifyEl = doc.getElementById("notify");
    this.set = new AlertSet();
    this.mark = mark;
    this.unitOf = unitOf;
    this.notifyEl.addEventListener("click", () => this.askToNotify());
  }

  apply(event, now) {
    const started = this.set.apply(event);
    this.show(now);
    this.mark(this.set.series());
    for (const a of started) this.notify(a, now);
  }

  // Every second with the page's text: the list is rebuilt only when which
  // alerts fire changed; otherwise only the texts (their ages) that changed.
  show(now) {
    const firing = this.set.firing();
    this.el.hidden = firing.length === 0;
    const items = this.listEl.children;
    if (items.length !== firing.length || firing.some((a, i) => items[i].dataset.key !== a.rule + "\n" + a.series)) {
      this.listEl.replaceChildren(...firing.map((a) => {
        const li = document.createElement("li");
        li.dataset.key = a.rule + "\n" + a.series;
        li.dataset.series = a.series;
        return li;
      }));
    }
    firing.forEach((a, i) => {
      const text = alertText(a, now, this.unitOf);
      if (items[i].textContent !== text) items[i].textContent = text;
    });
    const can = "Notification" in globalThis && Notification.permission === "default";
    this.notifyEl.hidden = !can;
  }

  askToNotify() {
    if (!("Notification" in globalThis)) return;
    Notification.requestPermission().then(() => this.show(Date.now() / 1000));
  }

  notify(alert, now) {
    if (!("Notification" in globalThis) || Notification.permission !== "granted") return;
    try {
      new Notification("Alert: " + alert.rule, { body: alertText(alert, now, this.unitOf), tag: alert.rule + "\n" + alert.series });
    } catch (error) {
      // Some mobile browsers allow notifications only from a service worker.
    }
  }
}
