// The ring tone (WebAudio: 440 + 480 Hz, 2 s on, 4 s off — no asset) and
// the browser notification of an incoming call.

let ctx = null;
let tone = null; // {oscs, gain, timer}
let note = null;

// unlock makes the AudioContext on a user gesture, so that a later ring
// may play; it also asks for the notification permission once.
export function unlock() {
  try {
    if (!ctx) ctx = new AudioContext();
    if (ctx.state === "suspended") ctx.resume().catch(() => {});
  } catch {
    ctx = null;
  }
  if ("Notification" in window && Notification.permission === "default") {
    Notification.requestPermission().catch(() => {});
  }
}

export function ringing() {
  return tone !== null;
}

export function startRing() {
  if (tone) return;
  try {
    if (!ctx) ctx = new AudioContext();
    if (ctx.state === "suspended") ctx.resume().catch(() => {});
  } catch {
    return; // no audio: the panel still shows
  }
  const gain = ctx.createGain();
  gain.gain.value = 0;
  gain.connect(ctx.destination);
  const oscs = [440, 480].map((f) => {
    const o = ctx.createOscillator();
    o.frequency.value = f;
    o.connect(gain);
    o.start();
    return o;
  });
  // One cadence: 2 s of tone, then 4 s of silence; scheduled ahead every 6 s.
  const cadence = () => {
    const t = ctx.currentTime;
    gain.gain.setValueAtTime(0.08, t);
    gain.gain.setValueAtTime(0, t + 2);
  };
  cadence();
  tone = { oscs, gain, timer: setInterval(cadence, 6000) };
}

export function stopRing() {
  if (tone) {
    clearInterval(tone.timer);
    for (const o of tone.oscs) {
      try {
        o.stop();
      } catch {
        /* already stopped */
      }
      o.disconnect();
    }
    tone.gain.disconnect();
    tone = null;
  }
  if (note) {
    note.close();
    note = null;
  }
}

// notify shows "Incoming call from …" when the page is not visible.
export function notify(from, tag) {
  if (!document.hidden || !("Notification" in window) || Notification.permission !== "granted") return;
  try {
    if (note) note.close();
    note = new Notification(`Incoming call from ${from}`, { tag, requireInteraction: true });
    note.addEventListener("click", () => {
      window.focus();
      note && note.close();
    });
  } catch {
    note = null; // some browsers allow notifications from a service worker only
  }
}
