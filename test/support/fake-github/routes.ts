import { paginate } from "./pagination.js";
import { errorReply, notFound, type Reply, validationFailed } from "./responses.js";
import { commentJson } from "./shapes.js";
import type { IssueStore } from "./store.js";
import type { UserDirectory } from "./users.js";

/** The REST endpoints the product uses, answered from the store. */

export const MAX_BODY_LENGTH = 65_536;

const COMMENTS_DOCS = "https://docs.github.com/rest/issues/comments";

export interface RouteContext {
  url: URL;
  body: string;
  login: string;
  now: number;
  apiUrl: string;
  store: IssueStore;
  users: UserDirectory;
  perPageDefault: number;
  viewerForbidden: boolean;
}

export interface Route {
  /** Counts as a write for the secondary rate limits (POST, PATCH, DELETE). */
  write: boolean;
  /** Creates a comment (the response `loseCreateResponses` destroys). */
  creates: boolean;
  run(context: RouteContext): Reply;
}

const ISSUE_COMMENTS = /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/comments$/;
const COMMENT = /^\/repos\/([^/]+)\/([^/]+)\/issues\/comments\/(\d+)$/;

export function resolveRoute(method: string, pathname: string): Route | undefined {
  if (pathname === "/user" && method === "GET") return { write: false, creates: false, run: viewer };
  const issueMatch = ISSUE_COMMENTS.exec(pathname);
  if (issueMatch) {
    const repo = `${decode(issueMatch[1])}/${decode(issueMatch[2])}`;
    const issue = Number(issueMatch[3]);
    if (method === "GET") return { write: false, creates: false, run: (c) => listComments(c, repo, issue) };
    if (method === "POST") return { write: true, creates: true, run: (c) => createComment(c, repo, issue) };
    return undefined;
  }
  const commentMatch = COMMENT.exec(pathname);
  if (commentMatch) {
    const repo = `${decode(commentMatch[1])}/${decode(commentMatch[2])}`;
    const id = Number(commentMatch[3]);
    if (method === "GET") return { write: false, creates: false, run: (c) => getComment(c, repo, id) };
    if (method === "PATCH") return { write: true, creates: false, run: (c) => updateComment(c, repo, id) };
    if (method === "DELETE") return { write: true, creates: false, run: (c) => deleteComment(c, repo, id) };
  }
  return undefined;
}

function viewer(c: RouteContext): Reply {
  if (c.viewerForbidden) {
    return errorReply(
      403,
      "Resource not accessible by integration",
      "https://docs.github.com/rest/users/users#get-the-authenticated-user",
    );
  }
  return { status: 200, body: c.users.json(c.login, c.apiUrl) };
}

function listComments(c: RouteContext, repo: string, issue: number): Reply {
  if (!c.store.repo(repo) || !c.store.issue(repo, issue))
    return notFound(`${COMMENTS_DOCS}#list-issue-comments`);
  const since = Date.parse(c.url.searchParams.get("since") ?? "");
  const all = c.store
    .list(repo, issue)
    .filter((comment) => Number.isNaN(since) || comment.updatedAt >= since);
  const page = paginate(all, c.url, c.perPageDefault);
  const reply: Reply = {
    status: 200,
    body: page.items.map((comment) => commentJson(comment, c.apiUrl, c.users)),
  };
  if (page.link !== undefined) reply.headers = { link: page.link };
  return reply;
}

function createComment(c: RouteContext, repo: string, issue: number): Reply {
  const state = c.store.repo(repo) ? c.store.issue(repo, issue) : undefined;
  if (!state) return notFound(`${COMMENTS_DOCS}#create-an-issue-comment`);
  const body = readCommentBody(c.body);
  if (typeof body !== "string") return body;
  if (state.locked) {
    return errorReply(
      403,
      "Unable to create comment because issue is locked.",
      "https://docs.github.com/articles/locking-conversations/",
    );
  }
  const comment = c.store.create(repo, issue, body, c.login, c.now);
  return {
    status: 201,
    body: commentJson(comment, c.apiUrl, c.users),
    headers: { location: `${c.apiUrl}/repos/${comment.repo}/issues/comments/${comment.id}` },
  };
}

function getComment(c: RouteContext, repo: string, id: number): Reply {
  const comment = findComment(c, repo, id);
  if (!comment) return notFound(`${COMMENTS_DOCS}#get-an-issue-comment`);
  return { status: 200, body: commentJson(comment, c.apiUrl, c.users) };
}

function updateComment(c: RouteContext, repo: string, id: number): Reply {
  const comment = findComment(c, repo, id);
  if (!comment) return notFound(`${COMMENTS_DOCS}#update-an-issue-comment`);
  if (comment.author !== c.login) return notAllowed(`${COMMENTS_DOCS}#update-an-issue-comment`);
  const body = readCommentBody(c.body);
  if (typeof body !== "string") return body;
  const updated = c.store.update(id, body, c.now);
  if (!updated) return notFound(`${COMMENTS_DOCS}#update-an-issue-comment`);
  return { status: 200, body: commentJson(updated, c.apiUrl, c.users) };
}

function deleteComment(c: RouteContext, repo: string, id: number): Reply {
  const comment = findComment(c, repo, id);
  if (!comment) return notFound(`${COMMENTS_DOCS}#delete-an-issue-comment`);
  if (comment.author !== c.login) return notAllowed(`${COMMENTS_DOCS}#delete-an-issue-comment`);
  c.store.remove(id);
  return { status: 204 };
}

function findComment(c: RouteContext, repo: string, id: number) {
  const comment = c.store.get(id);
  const canonical = c.store.repo(repo);
  return comment && comment.repo === canonical ? comment : undefined;
}

function notAllowed(documentationUrl: string): Reply {
  return errorReply(403, "Must have admin rights to Repository.", documentationUrl);
}

/** The `body` field of a comment request, or GitHub's 400/422 answer. */
function readCommentBody(raw: string): string | Reply {
  let parsed: unknown;
  try {
    parsed = raw === "" ? {} : JSON.parse(raw);
  } catch {
    return errorReply(400, "Problems parsing JSON");
  }
  const body =
    typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>).body : undefined;
  if (body === undefined || body === null)
    return errorReply(422, 'Invalid request.\n\n"body" wasn\'t supplied.');
  if (typeof body !== "string")
    return errorReply(422, "Invalid request.\n\nFor 'properties/body', is not a string.");
  if (body.trim() === "") return validationFailed("missing_field");
  if (body.length > MAX_BODY_LENGTH) {
    return validationFailed("custom", `body is too long (maximum is ${MAX_BODY_LENGTH} characters)`);
  }
  return body;
}

function decode(segment: string | undefined): string {
  try {
    return decodeURIComponent(segment ?? "");
  } catch {
    return segment ?? "";
  }
}
