import type { EventEmitter } from "node:events";
import { Command, CommanderError, type HelpContext, type ParseOptionsResult } from "commander";
import { webHost } from "../config/origin-host.js";
import { environmentTokens, ghAuthToken, tokenFromEnvironment } from "../config/resolve.js";
import { hideFrom, hideInMessages, messageLine, quote, shownName } from "../config/show-value.js";
import { storeUrlSecrets } from "../store/pg/config.js";
import { registerCommands } from "./commands.js";
import { declared } from "./declare.js";
import { reportFailure } from "./exit.js";

declare const VERSION: string;

/**
 * commander's Command, where a missing or unknown command is one line on stderr (exit 2) rather than the
 * whole help: commander shows the help as an error (`help({ error: true })`) for `parallel-progress` alone,
 * `parallel-progress db` alone and `parallel-progress help <unknown>` (`help db <unknown>` too). `--help`
 * and `help <command>` (`help db <command>`) still print the help on stdout (exit 0). Subcommands are made
 * by createCommand, so they are of this class too.
 * An unknown command is that one line whatever else the line holds: commander printed the help for
 * `updat --help` and the version for `frobnicate -V` (exit 0).
 * An unknown option or command is shown escaped and shortened (shownName): commander would print a line
 * break or an escape sequence raw, and 100,000 characters whole.
 */
class CliCommand extends Command {
  /** The version `-V, --version` prints (withVersion); whether the line gave it. */
  private versionText: string | null = null;
  private versionAsked = false;

  override createCommand(name?: string): Command {
    return new CliCommand(name);
  }

  /**
   * commander's `version`, whose option printed the version as soon as it was read, before the commands
   * on the line were looked at: here it is noted, and printed once the line is read (parseOptions).
   */
  withVersion(version: string): this {
    this.version(version);
    // commander's Command is an EventEmitter, which its typings do not say.
    (this as unknown as EventEmitter).removeAllListeners("option:version");
    this.versionText = version;
    this.on("option:version", () => {
      this.versionAsked = true;
    });
    return this;
  }

  /**
   * commander's: reads the program's options wherever they are on the line. Then, before any help or
   * version is printed, a command the line names that does not exist (`frobnicate`, `db frob`) is refused.
   */
  override parseOptions(args: string[]): ParseOptionsResult {
    const parsed = super.parseOptions(args);
    if (this.parent) return parsed;
    this.refuseUnknownCommand(parsed.operands);
    // `help <command> -V` is help: it says itself what it does not know (`help frob`, exit 2).
    if (this.versionAsked && this.versionText !== null && parsed.operands[0] !== "help") {
      this.configureOutput().writeOut?.(`${this.versionText}\n`);
      throw new CommanderError(0, "commander.version", this.versionText);
    }
    return parsed;
  }

  /** Refuses the first of `operands` that names no command of this one, as commander refuses it alone. */
  private refuseUnknownCommand(operands: readonly string[]): void {
    const [name, ...rest] = operands;
    // `help <command>` says itself what it does not know; a command without subcommands takes operands.
    if (name === undefined || name === "help" || this.commands.length === 0) return;
    const sub = this.commands.find((command) => command.name() === name || command.aliases().includes(name));
    if (!sub) {
      this.args = [name];
      this.unknownCommand();
    }
    declared(sub); // its subcommands, when it has any
    (sub as CliCommand).refuseUnknownCommand(rest);
  }

  /**
   * commander's (not in its typings): `flag` as the user typed it. `log`'s message that starts with `-`
   * (`log a "-5 tests failed"`) is taken for an option: the message says where it goes.
   */
  unknownOption(flag: string): never {
    // A typo of an option's name (`--dri`) gets commander's suggestion alone.
    if (!/^--?[A-Za-z][\w-]*(=|$)/.test(flag)) this.withAdvice(DASHED_MESSAGE);
    return (Command.prototype as unknown as Hidden).unknownOption.call(this, shownName(flag));
  }

  /** commander's (not in its typings): `log a "--verbose"` took the message for the option. */
  missingArgument(name: string): never {
    this.withAdvice(DASHED_MESSAGE);
    return (Command.prototype as unknown as Hidden).missingArgument.call(this, name);
  }

  /** The next error of this command, with `advice[name]` after it when there is one for the command. */
  private withAdvice(advice: Readonly<Record<string, string>>): void {
    const more = advice[this.name()];
    if (more === undefined) return;
    const error = this.error.bind(this);
    this.error = (message, options) => error(`${message.replace(/\.$/, "")}: ${more}`, options);
  }

  /**
   * commander's (not in its typings): the name is `this.args[0]`. Its message has a suggestion when a
   * command's name is near; when none is, the commands to choose from are added.
   */
  unknownCommand(): never {
    // A name that looks like an option (`-- --help`) gets no suggestion: commander's, made from names
    // with two characters cut off, would be `--lp`.
    const dashed = (this.args[0] ?? "").startsWith("-");
    this.args[0] = shownName(this.args[0] ?? "");
    const error = this.error.bind(this);
    this.error = (message, options) => {
      const suggested = message.includes("(Did you mean ");
      if (suggested && !dashed) return error(message, options);
      return error(`${message.replace(/\s*\(Did you mean [^)]*\)$/, "")}: ${choices(this)}`, options);
    };
    return (Command.prototype as unknown as Hidden).unknownCommand.call(this);
  }

  /**
   * commander's (not in its typings): `help <command>`. commander looks one level deep and shows that
   * command's help whatever follows; `help db status` is `db help status` here, so the subcommand's help
   * is shown, and an unknown one (`help db frob`) is refused as `db help frob` is.
   */
  _dispatchHelpCommand(name?: string): unknown {
    const [, , ...rest] = this.args;
    const target = this.commands.find((sub) => sub.name() === name || sub.aliases().includes(name ?? ""));
    if (target) declared(target); // its subcommands, when it has any
    const hidden = Command.prototype as unknown as Hidden;
    if (!target || target.commands.length === 0 || rest.length === 0)
      return hidden._dispatchHelpCommand.call(this, name);
    return hidden._dispatchSubcommand.call(this, target.name(), ["help", ...rest], []);
  }

  /**
   * commander's (not in its typings): its message counts the arguments; this one names those past what
   * the command takes too (`log a hello world`: a message with a space, not quoted).
   */
  _excessArguments(received: readonly string[]): void {
    const hidden = Command.prototype as unknown as Hidden;
    const error = this.error.bind(this);
    const extra = received.slice(this.registeredArguments.length).map((value) => quote(value));
    const option = TEXT_OPTIONS[this.name()];
    const advice = option === undefined ? "" : `: give the text with ${option} <text>`;
    this.error = (message, options) =>
      error(`${message.replace(/\.$/, "")}: ${extra.join(", ")} not taken${advice}`, options);
    hidden._excessArguments.call(this, received);
  }

  override help(context?: HelpContext | ((text: string) => string)): never {
    if (typeof context !== "object" || !context.error) return super.help(context as HelpContext);
    const [first, second] = this.args;
    // `help help`: the help command's help is the program's own.
    if (first === "help" && second === "help") return super.help();
    const message =
      first === "help" && second !== undefined
        ? `help: unknown command '${shownName(second)}': ${choices(this)}`
        : `no ${this.parent ? `${this.name()} ` : ""}command given: ${choices(this)}`;
    return this.error(message, { exitCode: 2, code: "commander.missingCommand" });
  }
}

/** Where a message that starts with `-` goes, for the commands that take one as an argument. */
const DASHED_MESSAGE: Readonly<Record<string, string>> = {
  log: 'log <agent> <message>; a message that starts with "-" goes after --: log <agent> -- "<message>"',
};

/** The option that takes a command's text, for the guide's `fail b "why"` (an argument too many). */
const TEXT_OPTIONS: Readonly<Record<string, string>> = {
  complete: "--summary",
  fail: "--error",
  cancel: "--reason",
  finalize: "--summary",
};

/** The commands `command` takes, and where their help is. */
function choices(command: Command): string {
  const names = command
    .createHelp()
    .visibleCommands(command)
    .map((sub) => sub.name())
    .filter((name) => name !== "help");
  return `give one of ${names.join(", ")}; see ${commandPath(command)} --help`;
}

/**
 * A commander message as one line: its suggestion, which it puts on a line of its own, after a space
 * (messageLine then escapes anything else invisible; shownName has shown the user's names already).
 */
function oneLine(message: string): string {
  return message
    .replace(/^error: /, "")
    .trim()
    .replace(/\n(?=\(Did you mean )/g, " ");
}

/** commander's methods that its typings leave out. */
interface Hidden {
  _excessArguments(this: Command, received: readonly string[]): void;
  unknownOption(this: Command, flag: string): never;
  missingArgument(this: Command, name: string): never;
  unknownCommand(this: Command): never;
  _dispatchHelpCommand(this: Command, name?: string): unknown;
  _dispatchSubcommand(this: Command, name: string, operands: string[], unknown: string[]): unknown;
}

function commandPath(command: Command): string {
  return command.parent ? `${commandPath(command.parent)} ${command.name()}` : command.name();
}

/** The full command line (commander): every command, help, version and argument errors. */
export async function runProgram(argv: readonly string[]): Promise<number> {
  let exitCode = 0;
  // No message echoes the environment's tokens, even where one was given as a value (`--cost $TOKEN`), nor
  // the password of a URL given by --store: known before the options are read, as names are checked then.
  hideInMessages([...environmentTokens(process.env), ...givenStores(argv).flatMap(storeUrlSecrets)]);
  // commander's error message, written once gh's token is known (below).
  let said: string | null = null;
  try {
    const program = new CliCommand("parallel-progress")
      .description("Live progress of parallel agents as one markdown table on a GitHub issue")
      .withVersion(typeof VERSION === "string" ? VERSION : "0.0.0")
      .exitOverride()
      .showSuggestionAfterError()
      .configureOutput({
        outputError: (message) => {
          said = message;
        },
      });
    registerCommands(program, (code) => {
      exitCode = code;
    });
    await program.parseAsync(argv as string[], { from: "node" });
    return exitCode;
  } catch (error) {
    // --help and --version end with 0 (no message: gh is not asked); a usage error (a missing or unknown
    // command included) with 2.
    if (error instanceof CommanderError && error.exitCode === 0) return 0;
    await hideGhTokens(argv);
    // Masked before it is made one line: escaping first (a no-break space as \u00a0) would hide a
    // secret holding such a character from the mask.
    if (said !== null) process.stderr.write(`parallel-progress: error: ${messageLine(oneLine(said))}\n`);
    if (error instanceof CommanderError) return 2;
    return reportFailure(error);
  }
}

/**
 * Before a failure is said: with no token in the environment, the tokens `gh auth token` gives (gh's own
 * host, and the host of the API this call was given) are masked too, so that a message does not echo one
 * the caller typed where a value goes (a classic token has no shape to tell it by). Asked only here: a
 * call that succeeds never runs gh for its messages.
 */
async function hideGhTokens(argv: readonly string[]): Promise<void> {
  if (tokenFromEnvironment(process.env) !== null) return;
  const apiUrl = givenValues(argv, "--api-url").at(-1) ?? process.env.GITHUB_API_URL;
  let host: string | undefined;
  try {
    host = apiUrl ? webHost(apiUrl.trim()) : undefined;
  } catch {
    host = undefined; // not a URL: its own message says so
  }
  const asked = [{}, ...(host === undefined ? [] : [{ hostname: host }])];
  const tokens = await Promise.all(asked.map((options) => ghAuthToken({ ...options, env: process.env })));
  const learned = tokens.filter((token): token is string => token !== null);
  hideFrom(() => learned);
}

/** The values given to --store on the command line (`--store <url>`, `--store=<url>`), before it is parsed. */
const givenStores = (argv: readonly string[]): string[] => givenValues(argv, "--store");

/** The values of `option` on the command line (`--option <value>`, `--option=<value>`), before it is parsed. */
function givenValues(argv: readonly string[], option: string): string[] {
  return argv.flatMap((arg, index) => {
    if (arg === option) return argv[index + 1] === undefined ? [] : [argv[index + 1]!];
    return arg.startsWith(`${option}=`) ? [arg.slice(option.length + 1)] : [];
  });
}
