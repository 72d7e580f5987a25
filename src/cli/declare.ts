import { type Command, Help } from "commander";

/**
 * Commands whose options and action are declared when needed: when the command runs (commander's
 * preSubcommand hook) or when a help that shows them is drawn (`--help`, `help <command>`, the program's
 * list, where a command with options reads `[options]`). Each is still declared once, with commander;
 * declared up front, every call built the options of all the commands (Node 20 compiles and runs that
 * code at each start).
 */
const undeclared = new WeakMap<Command, (command: Command) => unknown>();

/** Adds `nameAndArgs` to `parent` now; `declare` adds its options and action when needed. */
export function command(
  parent: Command,
  nameAndArgs: string,
  description: string,
  declare: (command: Command) => unknown,
): Command {
  const sub = parent.command(nameAndArgs).description(description);
  undeclared.set(sub, declare);
  return sub;
}

/** Declares `command`'s options, action and subcommands now, if they are not yet. */
export function declared(command: Command): void {
  const declare = undeclared.get(command);
  if (!declare) return;
  undeclared.delete(command);
  declare(command);
}

/**
 * On the program, before its commands are added (they inherit the help settings): declares a command as
 * it is dispatched, and the commands a help shows. `showGlobalOptions`: each command's help lists the
 * program's options too.
 */
export function declareWhenNeeded(program: Command): Command {
  return program
    .hook("preSubcommand", (_program, sub) => declared(sub))
    .configureHelp({
      showGlobalOptions: true,
      formatHelp: (cmd, helper) => {
        declared(cmd);
        for (const sub of cmd.commands) declared(sub);
        return Help.prototype.formatHelp.call(helper, cmd, helper);
      },
    });
}
