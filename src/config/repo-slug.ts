/**
 * `owner/name` as GitHub allows them. Owners: letters, digits and hyphens (underscores for
 * enterprise managed users), not starting with a hyphen. Names: letters, digits, `.`, `-`, `_`,
 * at most 100 characters, never `.` or `..`.
 */
const REPO_SLUG = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}\/[A-Za-z0-9._-]{1,100}$/;

export function isRepoSlug(value: string): boolean {
  if (!REPO_SLUG.test(value)) return false;
  const name = value.slice(value.indexOf("/") + 1);
  return name !== "." && name !== "..";
}
