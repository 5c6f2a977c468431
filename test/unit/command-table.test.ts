import { describe, expect, it } from "vitest";
import { COMMAND_TABLE, commandsFor } from "../../src/cli/command-table.js";

const all = Object.keys(COMMAND_TABLE);

describe("commandsFor: which command modules the CLI loads", () => {
  it.each([
    [["run", "m.json", "-p", "a=1"], ["run"]],
    [["--json", "run", "m.json"], ["run"]],
    [["--debug", "--json", "package", "flow.ts"], ["package"]],
    [["export", "kubernetes", "m.json"], ["export"]],
    [["help", "run"], ["run"]],
    [["run", "--help"], ["run"]],
    [["--version"], []],
    [["-V"], []],
  ])("%j loads %j", (argv, expected) => {
    expect(commandsFor(argv)).toEqual(expected);
  });

  it.each([[[]], [["--help"]], [["help"]], [["rnu", "m.json"]], [["--unknown"]]])("%j loads every command (help lists them; a typo gets commander's suggestion)", (argv) => {
    expect(commandsFor(argv)).toEqual(all);
  });

  it("every command in the table loads and registers itself under its own name", async () => {
    const { Command } = await import("commander");
    for (const name of all) {
      const program = new Command();
      (await COMMAND_TABLE[name]!())(program, () => ({ json: false, debug: false, result: () => undefined, info: () => undefined }));
      expect(program.commands.map((command) => command.name())).toEqual([name]);
    }
  });
});
