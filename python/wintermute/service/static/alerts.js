// The compliance alerts panel: the newest alerts first, pushed live by the WebSocket's
// "alerts" channel as the audit trail stores them (every account's for the admin key, the
// key's own account's otherwise).

const ALERT_ROWS = 50;

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

/** A rule's value for display: a ratio to three digits, a count as it is. */
function shown(value) {
  return Number.isInteger(value) ? String(value) : value.toFixed(3);
}

export class AlertsPanel {
  constructor(table, note) {
    this.body = table.tBodies[0];
    this.note = note;
    this.seen = new Set();
    this.count = 0;
  }

  /** One alert message's body (`{"type": "alert", "alert": {...}}`). */
  add(alert) {
    const id = `${alert.journal_seq}:${alert.rule}:${alert.account}`;
    if (this.seen.has(id)) return;
    this.seen.add(id);
    this.count += 1;
    const tr = document.createElement("tr");
    tr.dataset.rule = alert.rule;
    const time = new Date(Number(BigInt(alert.ts_ns) / 1000000n)).toLocaleTimeString([], { hour12: false });
    const who = alert.contra_account === null ? String(alert.account)
      : `${alert.account} ↔ ${alert.contra_account}`;
    const what = alert.price === null ? (alert.instrument ?? "")
      : `${alert.instrument} ${alert.qty} @ ${alert.price}`;
    const value = cell(`${shown(alert.value)} > ${shown(alert.threshold)}`);
    tr.append(cell(time), cell(alert.rule, "rule"), cell(who), value, cell(what));
    this.body.prepend(tr);
    while (this.body.rows.length > ALERT_ROWS) this.body.deleteRow(-1);
    this.note.textContent = `${this.count} since the page opened`;
  }

  /** The service keeps no audit trail (or the key cannot see alerts): say so. */
  off(message) {
    this.note.textContent = message;
  }
}
