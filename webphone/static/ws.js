// The signalling client: one WebSocket to /ws that reconnects by itself
// with an exponential backoff (0.5 s, 1 s, 2 s … at most 10 s) until
// stop() is called. phoned holds the calls, so a reconnect loses nothing:
// its `hello` lists them again.

const MIN_DELAY = 500;
const MAX_DELAY = 10000;

export class Signal {
  // onMessage(msg) gets every parsed message; onStatus(state, failures)
  // gets "open", "connecting" and "closed".
  constructor({ onMessage, onStatus }) {
    this.onMessage = onMessage;
    this.onStatus = onStatus;
    this.sock = null;
    this.stopped = true;
    this.failures = 0;
    this.timer = 0;
  }

  get open() {
    return !!this.sock && this.sock.readyState === WebSocket.OPEN;
  }

  start() {
    this.stopped = false;
    this.failures = 0;
    this.connect();
  }

  // stop closes the socket for good (log out).
  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.sock) {
      const s = this.sock;
      this.sock = null;
      s.close(1000, "log out");
    }
    this.onStatus("closed", 0);
  }

  connect() {
    clearTimeout(this.timer);
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
    let sock;
    try {
      sock = new WebSocket(url);
    } catch {
      this.retry();
      return;
    }
    this.sock = sock;
    this.onStatus("connecting", this.failures);
    sock.addEventListener("open", () => {
      if (sock !== this.sock) return;
      this.failures = 0;
      this.onStatus("open", 0);
    });
    sock.addEventListener("message", (ev) => {
      if (sock !== this.sock) return;
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return; // not ours to guess
      }
      if (msg && typeof msg.type === "string") this.onMessage(msg);
    });
    sock.addEventListener("close", () => {
      if (sock !== this.sock) return;
      this.sock = null;
      this.failures++;
      this.onStatus("closed", this.failures);
      this.retry();
    });
  }

  retry() {
    if (this.stopped) return;
    const delay = Math.min(MAX_DELAY, MIN_DELAY * 2 ** Math.max(0, this.failures - 1));
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  // send writes one message; false when the socket is not open.
  send(msg) {
    if (!this.open) return false;
    this.sock.send(JSON.stringify(msg));
    return true;
  }
}
