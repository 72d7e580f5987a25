import { isoSeconds } from "./responses.js";
import type { StoredComment } from "./types.js";
import type { UserDirectory } from "./users.js";

/** GitHub's issue-comment object. */
export function commentJson(
  comment: StoredComment,
  apiUrl: string,
  users: UserDirectory,
): Record<string, unknown> {
  const [owner = ""] = comment.repo.split("/");
  return {
    url: `${apiUrl}/repos/${comment.repo}/issues/comments/${comment.id}`,
    html_url: `https://github.com/${comment.repo}/issues/${comment.issue}#issuecomment-${comment.id}`,
    issue_url: `${apiUrl}/repos/${comment.repo}/issues/${comment.issue}`,
    id: comment.id,
    node_id: `IC_kwDO${Buffer.from(String(comment.id)).toString("base64url")}`,
    user: users.json(comment.author, apiUrl),
    created_at: isoSeconds(comment.createdAt),
    updated_at: isoSeconds(comment.updatedAt),
    author_association: comment.author.toLowerCase() === owner.toLowerCase() ? "OWNER" : "NONE",
    body: comment.body,
    performed_via_github_app: null,
  };
}
