// Kept apart (no imports): the PostgreSQL store's lazy bundle and main.cjs both take it.

/** A store URL's passwords, decoded: its user's (to the authority's last "@") and a `password=` parameter's. */
export function urlPasswords(url: string): string[] {
  const userinfo = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)@/i.exec(url.trim())?.[1] ?? "";
  const colon = userinfo.indexOf(":");
  const given = [colon >= 0 ? userinfo.slice(colon + 1) : "", /[?&]password=([^&#]*)/i.exec(url)?.[1] ?? ""];
  return given.map((text) => {
    try {
      return decodeURIComponent(text);
    } catch {
      return text;
    }
  });
}
