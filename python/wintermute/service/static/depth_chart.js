// The depth chart: cumulative quantity away from the touch, bids left and asks right (canvas).

export class DepthChart {
  constructor(canvas, grid) {
    this.canvas = canvas;
    this.grid = grid;
    this.ctx = canvas.getContext("2d");
  }

  render(book) {
    const { canvas, ctx } = this;
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    if (width === 0 || height === 0) return;
    if (canvas.width !== Math.round(width * ratio)) canvas.width = Math.round(width * ratio);
    if (canvas.height !== Math.round(height * ratio)) canvas.height = Math.round(height * ratio);
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const bids = book.side("bids").slice(0, 60);
    const asks = book.side("asks").slice(0, 60);
    if (bids.length === 0 || asks.length === 0) return;
    const cumulative = (levels) => {
      let sum = 0;
      return levels.map(([t, q]) => [t, (sum += Number(q))]);
    };
    const b = cumulative(bids);
    const a = cumulative(asks);
    const mid = (bids[0][0] + asks[0][0]) / 2;
    const span = Math.max(mid - b[b.length - 1][0], a[a.length - 1][0] - mid, 1);
    const most = Math.max(b[b.length - 1][1], a[a.length - 1][1]);
    const pad = 18;
    const x = (t) => width / 2 + ((t - mid) / span) * (width / 2 - 4);
    const y = (q) => height - pad - (q / most) * (height - pad - 8);
    const draw = (points, stroke, fill) => {
      ctx.beginPath();
      ctx.moveTo(x(points[0][0]), height - pad);
      let prev = 0;
      for (const [t, q] of points) {
        ctx.lineTo(x(t), y(prev));
        ctx.lineTo(x(t), y(q));
        prev = q;
      }
      ctx.lineTo(x(points[points.length - 1][0]), height - pad);
      ctx.closePath();
      ctx.fillStyle = fill;
      ctx.fill();
      ctx.strokeStyle = stroke;
      ctx.stroke();
    };
    draw(b, "#2ebd85", "rgba(46, 189, 133, 0.18)");
    draw(a, "#f6465d", "rgba(246, 70, 93, 0.18)");
    ctx.fillStyle = "#8a93a6";
    ctx.font = "11px ui-monospace, monospace";
    ctx.textAlign = "left";
    ctx.fillText(this.grid.price(b[b.length - 1][0]), 2, height - 4);
    ctx.textAlign = "right";
    ctx.fillText(this.grid.price(a[a.length - 1][0]), width - 2, height - 4);
    ctx.textAlign = "center";
    ctx.fillText(`${this.grid.price(bids[0][0])} | ${this.grid.price(asks[0][0])}`, width / 2, height - 4);
    ctx.textAlign = "left";
    ctx.fillText(`${most.toFixed(3)} cumulative`, 2, 12);
  }
}
