import { unescape as percentDecoded } from "node:querystring";

const MASK = "***";
/** Secrets at least this long are masked wherever they appear, even inside other text. */
export const MIN_ANYWHERE = 8;

/**
 * Anything shaped like a GitHub token: classic (ghp_, gho_, ghu_, ghs_, ghr_) and fine-grained (github_pat_).
 * At a word's start with 16 characters or more; glued to what stands before it (`%20ghp_…`, `=ghp_…` once
 * URL-encoded, `Bearer1ghp_…`) with as many as GitHub's have (36 letters and digits; github_pat_'s 82),
 * so that a word ending in "ghs" and a snake_case name after it is not taken for one.
 */
const TOKEN_SHAPE =
  /\b(?:gh[pousr]_[A-Za-z0-9_]{16,}|github_pat_[A-Za-z0-9_]{16,})|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}/g;
/**
 * Basic and Bearer credentials in text: an Authorization header quoted in a log line (actions/checkout's
 * `http.extraheader=AUTHORIZATION: basic <base64 of x-access-token:TOKEN>`), where the token is encoded.
 * 16 characters or more with a digit among them: `basic authentication-middleware` is words.
 */
const BASIC_OR_BEARER = /\b(basic|bearer)(\s+)(?=[A-Za-z._~+/-]*[0-9])[A-Za-z0-9._~+/-]{16,}=*/gi;
/** The value of an Authorization header, as text (`Authorization: token x`) or JSON (`"authorization":"x"`). */
const AUTHORIZATION = /(\b(?:proxy-)?authorization\b["']?\s*[:=]\s*["']?)[^\r\n"']*/gi;
/** A credential after an auth scheme, wherever it appears. */
const SCHEME_CREDENTIAL = /\b(bearer|token|basic)(\s+)[A-Za-z0-9._~+/=-]{16,}/gi;

/**
 * Replaces every given secret (as is and URL-encoded; one shorter than 8 characters only where it stands
 * alone), anything shaped like a GitHub token and the
 * values of Authorization headers with `***`. Used on every message and cause the GitHub layer builds.
 */
export function redactSecrets(text: string, secrets: readonly string[] = []): string {
  return maskSecrets(text, secrets)
    .replace(AUTHORIZATION, `$1${MASK}`)
    .replace(SCHEME_CREDENTIAL, `$1$2${MASK}`);
}

/**
 * The given secrets, anything shaped like a GitHub token and Basic or Bearer credentials replaced with
 * `***`, and nothing else: for agents' text (an error message, a summary), which the header patterns above
 * could cut into (`authorization: granted` is text; `token` is a word as often as a scheme).
 */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  return maskGiven(text, secrets).replace(TOKEN_SHAPE, MASK).replace(BASIC_OR_BEARER, `$1$2${MASK}`);
}

/** The `secrets` masked wherever they appear (MIN_ANYWHERE characters or more; see maskGiven). */
export const longSecrets = (secrets: readonly string[]): string[] =>
  secrets.filter((secret) => secret.length >= MIN_ANYWHERE);

/** `secrets` alone (as written and URL-encoded) replaced with `***`: maskSecrets without the shapes. */
function maskGiven(text: string, secrets: readonly string[]): string {
  let result = text;
  const variants = secrets.flatMap((secret) => [secret, encodeURIComponent(secret)]).filter((s) => s !== "");
  for (const secret of [...new Set(variants)].sort((a, b) => b.length - a.length)) {
    // A real token is long; a short one is masked only where it stands alone, or every "t" would go.
    result =
      secret.length >= MIN_ANYWHERE
        ? result.split(secret).join(MASK)
        : result.replace(new RegExp(`(?<![A-Za-z0-9_])${escapeRegExp(secret)}(?![A-Za-z0-9_])`, "g"), MASK);
  }
  return result;
}

/**
 * Whether `text` holds one of `secrets` where maskSecrets would mask it (whatever its shape: a token gh
 * gives may be shaped as any), as written or once its percent escapes are decoded (`%66…` is `f…`: a URL
 * kept with it carries the secret to whoever reads it). Node's querystring.unescape leaves a stray `%ZZ`
 * as it is.
 */
export function holdsSecret(text: string, secrets: readonly string[]): boolean {
  const holds = (form: string, among: readonly string[]) => maskGiven(form, among) !== form;
  // Decoded, only the secrets masked anywhere: a short one stands alone in decoded text by chance
  // (`/tmp/no%20pw` is `/tmp/no pw`).
  const long = longSecrets(secrets);
  return (
    secrets.length > 0 && (holds(text, secrets) || (long.length > 0 && holds(percentDecoded(text), long)))
  );
}

/** Whether `text` holds something shaped like a GitHub token (see TOKEN_SHAPE). */
export function looksLikeToken(text: string): boolean {
  return text.replace(TOKEN_SHAPE, MASK) !== text;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * The URL with whatever stands between `://` and its last `@` replaced by `***`, for messages. Up to the
 * last `@`, not to the end of the authority: a password may hold `/`, `?` or `#`, and in a URL that does
 * not parse where the authority ends cannot be told.
 */
export function withoutCredentials(value: string): string {
  return value.replace(/^([^:/]*:\/\/).*@/s, "$1***@");
}
