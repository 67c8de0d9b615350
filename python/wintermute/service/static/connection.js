// A WebSocket that comes back by itself: on every (re)connect it authenticates, sends its
// subscriptions again (the server answers each book subscription with a fresh snapshot) and
// tells the page, which then reloads whatever it keeps.

export class LiveSocket {
  constructor(path, { onMessage, onState, onOpen }) {
    this.url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}`;
    this.onMessage = onMessage;
    this.onState = onState ?? (() => {});
    this.onOpen = onOpen ?? (() => {});
    this.subscriptions = [];
    this.key = null;
    this.reconnects = 0;
    this.messages = 0;
    this.delay = 250;
    this.socket = null;
    this.connect();
  }

  connect() {
    const socket = new WebSocket(this.url);
    this.socket = socket;
    this.onState("connecting");
    socket.addEventListener("open", () => {
      this.delay = 250;
      if (this.key) socket.send(JSON.stringify({ op: "auth", key: this.key }));
      for (const sub of this.subscriptions) socket.send(JSON.stringify(sub));
      this.onState("live");
      this.onOpen();
    });
    socket.addEventListener("message", (event) => {
      this.messages += 1;
      this.onMessage(JSON.parse(event.data));
    });
    socket.addEventListener("close", () => {
      if (this.socket !== socket) return;
      this.onState("disconnected");
      this.reconnects += 1;
      setTimeout(() => this.connect(), this.delay);
      this.delay = Math.min(this.delay * 2, 5000);
    });
  }

  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(message));
    }
  }

  /** Subscribes now and after every reconnect. */
  subscribe(message) {
    this.subscriptions.push(message);
    this.send(message);
  }

  /** Authenticates now and after every reconnect (before the subscriptions). */
  auth(key) {
    this.key = key;
    this.send({ op: "auth", key });
  }
}
