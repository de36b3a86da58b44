// Accounts, for site admins: every account, and a form to create one (a freelancer must have an
// account before a manager can add them to a project by e-mail).
import { attempt, element, errorLine, field, input, section, tableHead } from "./ui.js";

export async function accountsSection({ api, toast }) {
  const error = errorLine("accounts-error");
  const body = element("tbody");
  const show = async () => {
    const users = await attempt(error, null, () => api.get("/users"));
    if (!users) return;
    body.replaceChildren(
      ...users.map((u) =>
        element(
          "tr",
          { "data-testid": "account-row", "data-email": u.email },
          element("td", {}, u.email),
          element("td", {}, u.name),
          element("td", {}, u.is_admin ? "admin" : ""),
          element("td", {}, u.active ? "active" : "disabled"),
        ),
      ),
    );
  };
  const email = input("email", { type: "email", required: true, "data-testid": "account-email" });
  const name = input("name", { "data-testid": "account-name" });
  const password = input("password", {
    type: "password",
    required: true,
    minlength: 8,
    autocomplete: "new-password",
    "data-testid": "account-password",
  });
  const admin = element("input", { type: "checkbox", "data-testid": "account-admin" });
  const form = element(
    "form",
    { class: "row", "data-testid": "new-account" },
    field("E-mail", email),
    field("Name", name),
    field("Password", password),
    element("label", { class: "inline" }, admin, "site admin"),
    element("button", { type: "submit", "data-testid": "create-account" }, "Create account"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const made = await attempt(error, null, () =>
      api.post("/users", {
        email: email.value.trim(),
        name: name.value.trim(),
        password: password.value,
        is_admin: admin.checked,
      }),
    );
    if (!made) return;
    toast(`account ${made.email} created`);
    form.reset();
    await show();
  });
  await show();
  return section(
    "Accounts",
    "accounts-section",
    element("table", { "data-testid": "accounts" }, tableHead("E-mail", "Name", "", ""), body),
    form,
    error,
  );
}
