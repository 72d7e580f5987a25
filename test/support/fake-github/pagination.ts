/** GitHub's `per_page`/`page` query and `Link` header. */

const MAX_PER_PAGE = 100;

export interface Page<T> {
  items: T[];
  link: string | undefined;
}

export function paginate<T>(all: readonly T[], url: URL, perPageDefault: number): Page<T> {
  const perPage = Math.min(MAX_PER_PAGE, positiveInt(url.searchParams.get("per_page")) ?? perPageDefault);
  const page = positiveInt(url.searchParams.get("page")) ?? 1;
  const last = Math.max(1, Math.ceil(all.length / perPage));
  const items = all.slice((page - 1) * perPage, page * perPage);
  const relations: string[] = [];
  const at = (n: number): string => {
    const target = new URL(url.href);
    target.searchParams.set("page", String(n));
    return target.href;
  };
  if (page > 1) relations.push(`<${at(Math.min(page - 1, last))}>; rel="prev"`);
  if (page < last) relations.push(`<${at(page + 1)}>; rel="next"`, `<${at(last)}>; rel="last"`);
  if (page > 1) relations.push(`<${at(1)}>; rel="first"`);
  return { items, link: relations.length > 0 ? relations.join(", ") : undefined };
}

function positiveInt(value: string | null): number | undefined {
  if (value === null || !/^\d+$/.test(value)) return undefined;
  const n = Number(value);
  return n >= 1 ? n : undefined;
}
