// How API URLs are kept and compared: no dependencies, so the sync layer can compare them too.

/**
 * An API URL as it is kept and compared: scheme and host in lower case, the scheme's default port left
 * out, no trailing slash (`HTTPS://GHE.corp:443/api/v3/` is `https://ghe.corp/api/v3`); the path as given.
 */
export function canonicalApiUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, "")}`;
}

/** Whether two API URLs name the same GitHub (see canonicalApiUrl; one kept by an older build included). */
export function sameApi(a: string, b: string): boolean {
  const canonical = (value: string) => {
    try {
      return canonicalApiUrl(new URL(value.trim()));
    } catch {
      return value;
    }
  };
  return a === b || canonical(a) === canonical(b);
}

/** Percent escapes: they can spell a secret that a check does not know (a token only gh gives). */
export const hasEscapes = (text: string): boolean => /%[0-9A-Fa-f]{2}/.test(text);

/**
 * A URL that holds a secret (or percent escapes) as a message shows it: its origin alone (encoded in any of
 * many ways, the secret could not be masked in the rest), its scheme alone when the origin holds one
 * (`holds`, or escapes), `***` when it has no origin.
 */
export function originAlone(text: string, holds: (origin: string) => boolean): string {
  const origin = /^([A-Za-z][A-Za-z0-9+.-]*:)\/\/[^/?#]*/.exec(text);
  if (!origin) return "***";
  return holds(origin[0]) || hasEscapes(origin[0]) ? `${origin[1]}//***` : `${origin[0]}/***`;
}
