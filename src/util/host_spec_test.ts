import { assertEquals, assertThrows } from "./assert.ts";
import { formatHost, parseHost } from "./host_spec.ts";

Deno.test("host placements: local, netns:NAME and ssh URLs parse and print back", () => {
  for (
    const text of [
      "local",
      "netns:lab-a",
      "ssh://h",
      "ssh://ci@10.0.0.7:2222/srv/ferry",
      "ssh://root@[fd00::1]:22",
    ]
  ) assertEquals(formatHost(parseHost(text)), text);
  assertEquals(parseHost("ssh://u@h/"), {
    kind: "ssh",
    user: "u",
    host: "h",
    port: null,
    path: null,
  });
});

Deno.test("host placements: bad forms are refused with what is wrong", () => {
  for (
    const [text, why] of [
      ["remote", /must be "local", "netns:NAME"/],
      ["netns:", /NAME must be/],
      ["netns:a b", /NAME must be/],
      ["ssh://", /ssh:\/\/\[user@\]host/],
      ["ssh://h:0", /port must be 1 to 65535/],
      ["ssh://h:70000", /port must be 1 to 65535/],
      ["ssh://h/srv/$(reboot)", /shell characters/],
      ["ssh://-oProxyCommand=x", /ssh:\/\/\[user@\]host/],
      ["ssh://-oFoo", /ssh:\/\/\[user@\]host/],
      ["ssh://-u@h", /ssh:\/\/\[user@\]host/],
    ] as const
  ) assertThrows(() => parseHost(text), why, text);
});
