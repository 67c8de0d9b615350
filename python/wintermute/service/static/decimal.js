// Exact prices on the instrument's tick grid: a price string <-> an integer number of ticks,
// with BigInt arithmetic (no float ever touches a price that is shown or sent).

function scaleOf(text) {
  const dot = text.indexOf(".");
  return dot < 0 ? 0 : text.length - dot - 1;
}

function units(text, scale) {
  const negative = text.startsWith("-");
  const body = negative ? text.slice(1) : text;
  const [whole, fraction = ""] = body.split(".");
  const digits = whole + fraction.padEnd(scale, "0").slice(0, scale);
  const value = BigInt(digits || "0");
  return negative ? -value : value;
}

function format(value, scale) {
  const negative = value < 0n;
  let digits = (negative ? -value : value).toString().padStart(scale + 1, "0");
  if (scale > 0) digits = `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return negative ? `-${digits}` : digits;
}

/** The tick grid of one instrument. */
export class TickGrid {
  constructor(tickSize) {
    this.tickSize = tickSize;
    this.scale = scaleOf(tickSize);
    this.tickUnits = units(tickSize, this.scale);
  }

  /** The price as a whole number of ticks (rounded down onto the grid). */
  ticks(price) {
    const scale = Math.max(this.scale, scaleOf(price));
    const tick = units(this.tickSize, scale);
    return Number(units(price, scale) / tick);
  }

  /** The price of a number of ticks, as exact text with the tick's decimals. */
  price(ticks) {
    return format(BigInt(ticks) * this.tickUnits, this.scale);
  }
}

/** A quantity string without trailing zeros beyond three decimals, for narrow cells. */
export function shortQty(text) {
  if (!text.includes(".")) return text;
  const [whole, fraction] = text.split(".");
  const trimmed = fraction.replace(/0+$/, "").padEnd(3, "0");
  return `${whole}.${trimmed}`;
}
