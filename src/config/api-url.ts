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
