/** Logins and their numeric ids, assigned in order of first sight (the first token user is ID 1). */
export class UserDirectory {
  readonly #ids = new Map<string, number>();

  idOf(login: string): number {
    let id = this.#ids.get(login);
    if (id === undefined) {
      id = this.#ids.size + 1;
      this.#ids.set(login, id);
    }
    return id;
  }

  /** The account renamed: same id, new login (GitHub shows the new login on all of its comments). */
  rename(from: string, to: string): void {
    const id = this.idOf(from);
    if (this.#ids.has(to)) throw new Error(`fake GitHub: login ${to} is taken`);
    this.#ids.delete(from);
    this.#ids.set(to, id);
  }

  /** GitHub's user object; logins ending in `[bot]` are Bots, as GitHub App actors are. */
  json(login: string, apiUrl: string): Record<string, unknown> {
    const id = this.idOf(login);
    return {
      login,
      id,
      node_id: `U_kgDO${Buffer.from(String(id)).toString("base64url")}`,
      avatar_url: `https://avatars.githubusercontent.com/u/${id}?v=4`,
      url: `${apiUrl}/users/${encodeURIComponent(login)}`,
      html_url: `https://github.com/${login}`,
      type: login.endsWith("[bot]") ? "Bot" : "User",
      site_admin: false,
    };
  }
}
