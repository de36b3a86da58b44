// Who works on the project: add an existing account by e-mail in a role, change a role, remove.
import { attempt, element, errorLine, field, input, section, select, tableHead } from "./ui.js";

const ROLES = ["annotator", "reviewer", "manager", "owner"].map((r) => [r, r]);

export function membersSection(state) {
  const body = element("tbody");
  const error = errorLine("members-error");
  const email = input("email", { type: "email", required: true, "data-testid": "member-email" });
  const role = select("role", ROLES, "annotator", { "data-testid": "member-role" });
  const form = element(
    "form",
    { class: "row", "data-testid": "add-member" },
    field("E-mail", email),
    field("Role", role),
    element("button", { type: "submit", "data-testid": "add-member-submit" }, "Add member"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const added = await attempt(error, null, () =>
      state.api.post(`/projects/${state.id}/members`, {
        email: email.value.trim(),
        role: role.value,
      }),
    );
    if (added) {
      email.value = "";
      state.toast(`${added.user.email} added as ${added.role}`);
      await state.load("members");
    }
  });
  state.on("members", (members) =>
    body.replaceChildren(...members.map((m) => memberRow(state, m, error))),
  );
  const table = element(
    "table",
    { "data-testid": "members" },
    tableHead("Member", "Role", ""),
    body,
  );
  return section("Members", "members-section", table, form, error);
}

function memberRow(state, member, error) {
  const role = select("role", ROLES, member.role, { "data-testid": "member-role-change" });
  role.addEventListener("change", async () => {
    const changed = await attempt(error, null, () =>
      state.api.patch(`/projects/${state.id}/members/${member.user.id}`, { role: role.value }),
    );
    if (changed) state.toast(`${member.user.email} is now ${changed.role}`);
    await state.load("members");
  });
  const remove = element("button", { type: "button", "data-testid": "remove-member" }, "Remove");
  remove.addEventListener("click", async () => {
    if (!confirm(`Remove ${member.user.email} from the project?`)) return;
    const path = `/projects/${state.id}/members/${member.user.id}`;
    await attempt(error, null, () => state.api.del(path));
    await state.load("members");
  });
  return element(
    "tr",
    { "data-testid": "member-row", "data-email": member.user.email },
    element("td", {}, member.user.email, member.user.name ? ` (${member.user.name})` : ""),
    element("td", {}, role),
    element("td", {}, remove),
  );
}
