import { describe, expect, it } from "vitest";
import { appPath, parseRoute, withBase } from "../src/router";

describe("parseRoute", () => {
  it.each([
    ["/", { name: "redirect", to: "/search" }],
    ["", { name: "redirect", to: "/search" }],
    ["/search", { name: "search" }],
    ["/search/", { name: "search" }],
    ["/trace/4bf92f3577b34da6a3ce929d0e0e4736", { name: "trace", id: "4bf92f3577b34da6a3ce929d0e0e4736" }],
    ["/trace/aaa...bbb", { name: "diff", ids: ["aaa", "bbb"] }],
    ["/trace/aaa%2E%2E%2Ebbb", { name: "diff", ids: ["aaa", "bbb"] }],
    ["/trace-diff", { name: "diff", ids: [] }],
    ["/dependencies", { name: "dependencies" }],
    ["/monitor", { name: "monitor" }],
    ["/upload", { name: "upload" }],
    ["/trace/a/b", { name: "notfound" }],
    ["/nope", { name: "notfound" }],
  ])("%s", (path, want) => {
    expect(parseRoute(path)).toEqual(want);
  });
});

describe("base path", () => {
  it("prefixes and strips the base", () => {
    expect(withBase("", "/search")).toBe("/search");
    expect(withBase("/jaeger", "/search?x=1")).toBe("/jaeger/search?x=1");
    expect(withBase("/jaeger", "trace/1")).toBe("/jaeger/trace/1");
    expect(appPath("/jaeger", "/jaeger/trace/1")).toBe("/trace/1");
    expect(appPath("/jaeger", "/jaeger")).toBe("/");
    expect(appPath("/jaeger", "/jaegerx/a")).toBe("/jaegerx/a");
    expect(appPath("", "/search")).toBe("/search");
  });
});
