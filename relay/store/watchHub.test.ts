import { describe, expect, it } from "vitest";
import { createWatchHub } from "./watchHub.ts";

describe("watch hub", () => {
  it("calls every listener of a key; each unwatch removes only its own registration", () => {
    const hub = createWatchHub();
    const calls: string[] = [];
    const a = () => calls.push("a");
    const b = () => calls.push("b");
    const ua1 = hub.watch("k", a);
    const ua2 = hub.watch("k", a);
    const ub = hub.watch("k", b);
    hub.watch("other", b);
    hub.notify(["k"]);
    expect(calls).toEqual(["a", "a", "b"]);
    ua1();
    ua1();
    calls.length = 0;
    hub.notify(["k"]);
    expect(calls).toEqual(["a", "b"]);
    ua2();
    ub();
    calls.length = 0;
    hub.notify(["k", "missing"]);
    expect(calls).toEqual([]);
    expect(hub.size()).toBe(1);
  });

  it("a throwing listener does not stop the others", () => {
    const errors: unknown[] = [];
    const hub = createWatchHub((e) => errors.push(e));
    let called = false;
    hub.watch("k", () => {
      throw new Error("boom");
    });
    hub.watch("k", () => {
      called = true;
    });
    hub.notify(["k"]);
    expect(called).toBe(true);
    expect(errors).toHaveLength(1);
  });

  it("a listener may unwatch itself while being notified", () => {
    const hub = createWatchHub();
    let n = 0;
    const stop = hub.watch("k", () => {
      n++;
      stop();
    });
    hub.watch("k", () => n++);
    hub.notify(["k"]);
    hub.notify(["k"]);
    expect(n).toBe(3);
  });
});
