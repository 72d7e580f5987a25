import type { Command } from "commander";

/**
 * An option the command cannot run without. commander's own `requiredOption` is checked before unknown
 * options, so `init --bogus` said that --domains was missing and never named --bogus; checked before the
 * action instead (a preAction hook, after commander's checks of unknown options and of the arguments),
 * a mistyped option is named first. Declared with commander as any other option (help, parser).
 */
export function requiredOption<T>(
  command: Command,
  flags: string,
  description: string,
  parse?: (value: string) => T,
): Command {
  const option = command.createOption(flags, description);
  if (parse) option.argParser(parse);
  return command.addOption(option).hook("preAction", (self) => {
    if (self.getOptionValue(option.attributeName()) === undefined) {
      self.error(`required option '${option.flags}' not specified`, {
        exitCode: 2,
        code: "commander.missingMandatoryOptionValue",
      });
    }
  });
}
