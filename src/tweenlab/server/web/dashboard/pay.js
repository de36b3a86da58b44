// Pay: the project's rate table (currency, a default rate, a rate per person; amounts are
// decimal strings, per accepted task or per active hour) and one person's statement for a
// period, as a table with its total and a CSV download link.
import {
  attempt,
  daysFromNow,
  element,
  errorLine,
  field,
  input,
  isoDay,
  section,
  select,
  tableHead,
} from "./ui.js";

const BASES = [
  ["task", "per accepted task"],
  ["hour", "per active hour"],
];

export function paySection(state) {
  const error = errorLine("pay-error");
  const rates = element("div", { "data-testid": "rates" });
  const statement = element("div", { "data-testid": "statement-box" });
  state.on("members", async () => {
    const path = `/projects/${state.id}/pay/rates`;
    const stored = await attempt(error, null, () => state.api.get(path));
    if (stored) rates.replaceChildren(ratesForm(state, stored, error));
    statement.replaceChildren(statementForm(state, error, everyone(state)));
  });
  return section(
    "Pay",
    "pay-section",
    element("h3", {}, "Rates"),
    rates,
    element("h3", {}, "Statement"),
    statement,
    error,
  );
}

// An annotator's or reviewer's own statements (the API shows nobody else's to them).
export function myPaySection(state) {
  const error = errorLine("pay-error");
  const box = element("div", { "data-testid": "statement-box" });
  const me = [[state.user.id, state.user.email]];
  state.on("members", () => box.replaceChildren(statementForm(state, error, me)));
  return section("My pay", "my-pay-section", box, error);
}

function everyone(state) {
  return state.members.map((m) => [m.user.id, m.user.email]);
}

function rateInputs(rate, testid) {
  const basis = select("basis", [["", "—"], ...BASES], rate ? rate.basis : "", {
    "data-testid": `${testid}-basis`,
  });
  const amount = input("amount", {
    value: rate ? rate.amount : "",
    inputmode: "decimal",
    pattern: "\\d+(\\.\\d+)?",
    placeholder: "0.00",
    "data-testid": `${testid}-amount`,
  });
  const read = () =>
    basis.value && amount.value ? { basis: basis.value, amount: amount.value.trim() } : null;
  return { basis, amount, read };
}

function ratesForm(state, stored, error) {
  const currency = input("currency", {
    value: stored.currency || "EUR",
    maxlength: 3,
    "data-testid": "rate-currency",
  });
  const fallback = rateInputs(stored.default, "rate-default");
  const people = state.members.map((member) => ({
    member,
    rate: rateInputs((stored.people || {})[member.user.id], "rate-person"),
  }));
  const rows = people.map(({ member, rate }) =>
    element(
      "tr",
      { "data-testid": "rate-row", "data-email": member.user.email },
      element("td", {}, member.user.email),
      element("td", {}, rate.basis),
      element("td", {}, rate.amount),
    ),
  );
  const form = element(
    "form",
    { "data-testid": "rates-form" },
    element(
      "div",
      { class: "row" },
      field("Currency", currency),
      field("Default basis", fallback.basis),
      field("Default amount", fallback.amount),
    ),
    element("table", {}, tableHead("Person", "Basis", "Amount"), element("tbody", {}, rows)),
    element("button", { type: "submit", "data-testid": "save-rates" }, "Save rates"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {
      currency: currency.value.trim().toUpperCase(),
      default: fallback.read(),
      people: {},
    };
    for (const { member, rate } of people) {
      if (rate.read()) body.people[member.user.id] = rate.read();
    }
    const path = `/projects/${state.id}/pay/rates`;
    const saved = await attempt(error, state.toast, () => state.api.put(path, body));
    if (saved) state.toast("rates saved");
  });
  return form;
}

// people: [[user id, e-mail], ...] to choose from.
function statementForm(state, error, people) {
  const person = select("person", people, state.user.id, { "data-testid": "statement-person" });
  const day = (name, offset) =>
    input(name, {
      type: "date",
      value: isoDay(daysFromNow(offset)),
      "data-testid": `statement-${name}`,
    });
  const from = day("from", -30);
  const to = day("to", 1);
  const out = element("div", { "data-testid": "statement" });
  const form = element(
    "form",
    { class: "row", "data-testid": "statement-form" },
    field("Person", person),
    field("From", from),
    field("To", to),
    element("button", { type: "submit", "data-testid": "show-statement" }, "Show statement"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const query = `person=${person.value}&from=${from.value}T00:00:00Z&to=${to.value}T00:00:00Z`;
    const path = `/projects/${state.id}/pay/statement?${query}`;
    const answer = await attempt(error, null, () => state.api.get(path));
    out.replaceChildren(answer ? statementTable(answer, `/api${path}&format=csv`) : "");
  });
  return element("div", {}, form, out);
}

function statementTable(statement, csv) {
  const lines = statement.lines.map((line) =>
    element(
      "tr",
      { "data-testid": "statement-line", "data-task": line.task },
      element("td", {}, `#${line.task}`),
      element("td", {}, new Date(line.accepted_at).toLocaleString()),
      element("td", {}, line.basis),
      element("td", {}, line.hours),
      element("td", {}, line.rate),
      element("td", {}, line.amount),
    ),
  );
  const none = element(
    "tr",
    {},
    element("td", { colspan: 6, class: "muted" }, "nothing accepted in this period"),
  );
  const total = `Total ${statement.total} ${statement.currency}`;
  return element(
    "div",
    {},
    element(
      "table",
      { "data-testid": "statement-table" },
      tableHead("Task", "Accepted", "Basis", "Hours", "Rate", "Amount"),
      element("tbody", {}, lines.length ? lines : none),
    ),
    element(
      "p",
      {},
      element("strong", { "data-testid": "statement-total" }, total),
      " ",
      element("a", { href: csv, download: "", "data-testid": "statement-csv" }, "Download CSV"),
    ),
  );
}
