// A leg: one RTCPeerConnection with the microphone, offered by the page
// and answered by phoned, its ICE candidates trickling both ways.
import { h, newId } from "/static/util.js";

// MicError is a microphone failure in words for the agent.
export class MicError extends Error {}

// micWorked is set once the microphone opened in this page: from then on a
// call does not wait for it (see Leg.start).
let micWorked = false;

// getMic opens the microphone, with the failure in words.
export async function getMic() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    throw new MicError("This page cannot use a microphone: open it over https:// (or on localhost)");
  }
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    micWorked = true;
    return stream;
  } catch (err) {
    micWorked = false;
    switch (err && err.name) {
      case "NotFoundError":
      case "OverconstrainedError":
      case "DevicesNotFoundError":
        throw new MicError("No microphone found");
      case "NotAllowedError":
      case "SecurityError":
      case "PermissionDeniedError":
        throw new MicError("Microphone access was refused: allow it in the browser to call");
      case "NotReadableError":
      case "AbortError":
        throw new MicError("The microphone is busy or failed: close other apps using it and retry");
    }
    throw new MicError(`The microphone could not be opened: ${err && err.message ? err.message : err}`);
  }
}

export class Leg {
  // sendIce(leg, candidate|null) sends a trickled candidate; onState(state)
  // follows the connection state.
  // onMicFail(err) is told when the microphone fails after the offer went
  // out (the call must end).
  constructor({ sendIce, onState, onMicFail }) {
    this.id = newId("leg");
    this.sendIce = sendIce;
    this.onState = onState || (() => {});
    this.onMicFail = onMicFail || (() => {});
    this.muted = false;
    this.pc = null;
    this.stream = null;
    this.audio = null;
    this.signalled = false; // the offer has gone out: candidates may follow
    this.localQueue = []; // our candidates found before that
    this.answered = false; // phoned's answer is applied
    this.remoteQueue = []; // phoned's candidates received before that
    this.closed = false;
  }

  // start opens the mic and the connection and returns the offer's SDP.
  // The first call of a page waits for the microphone (the browser may
  // ask the agent, and a call must not go out without it); once it has
  // worked, the offer goes out while it opens and its track joins the
  // transceiver when ready (replaceTrack needs no new offer), which takes
  // tens of milliseconds off every click to dial.
  async start() {
    let mic = null;
    if (micWorked) {
      mic = getMic();
    } else {
      this.stream = await getMic();
      if (this.closed) {
        this.stopMic();
        throw new MicError("The call ended");
      }
    }
    const pc = new RTCPeerConnection({ iceServers: [] });
    this.pc = pc;
    const tr = this.stream
      ? pc.addTransceiver(this.stream.getAudioTracks()[0], { direction: "sendrecv", streams: [this.stream] })
      : pc.addTransceiver("audio", { direction: "sendrecv" });
    if (mic) {
      mic.then((stream) => {
        if (this.closed) {
          for (const t of stream.getTracks()) t.stop();
          return;
        }
        this.stream = stream;
        this.setMuted(this.muted);
        return tr.sender.replaceTrack(stream.getAudioTracks()[0]);
      }).catch((err) => {
        if (!this.closed) this.onMicFail(err instanceof MicError ? err : new MicError(String(err)));
      });
    }
    pc.addEventListener("icecandidate", (ev) => this.localCandidate(ev.candidate));
    pc.addEventListener("track", (ev) => this.play(ev));
    pc.addEventListener("connectionstatechange", () => this.onState(pc.connectionState));
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    return pc.localDescription.sdp;
  }

  // ready says the offer has been sent: queued candidates go out now.
  ready() {
    this.signalled = true;
    for (const c of this.localQueue.splice(0)) this.sendIce(this.id, c);
  }

  localCandidate(c) {
    if (c && !c.candidate) return; // an empty candidate: end of a generation, the null follows
    const cand = c ? { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex } : null;
    if (this.signalled) this.sendIce(this.id, cand);
    else this.localQueue.push(cand);
  }

  // Remote audio plays in an <audio autoplay> element of its own.
  play(ev) {
    if (!this.audio) {
      this.audio = h("audio", { autoplay: true });
      document.getElementById("audio").append(this.audio);
    }
    const stream = ev.streams && ev.streams[0] ? ev.streams[0] : new MediaStream([ev.track]);
    if (this.audio.srcObject !== stream) this.audio.srcObject = stream;
    this.audio.play().catch(() => {}); // autoplay may wait for a click; the element retries
  }

  // setAnswer applies phoned's answer, then the candidates that came early.
  async setAnswer(sdp) {
    if (this.closed || !this.pc) return;
    await this.pc.setRemoteDescription({ type: "answer", sdp });
    this.answered = true;
    for (const c of this.remoteQueue.splice(0)) await this.addIce(c);
  }

  // addIce adds one of phoned's candidates (null: the end of them).
  async addIce(c) {
    if (this.closed || !this.pc) return;
    if (!this.answered) {
      this.remoteQueue.push(c);
      return;
    }
    try {
      if (c && c.candidate) await this.pc.addIceCandidate(c);
      else await this.pc.addIceCandidate();
    } catch (err) {
      console.warn("phoned: ICE candidate refused", err);
    }
  }

  setMuted(muted) {
    this.muted = muted;
    if (!this.stream) return;
    for (const t of this.stream.getAudioTracks()) t.enabled = !muted;
  }

  stopMic() {
    if (this.stream) for (const t of this.stream.getTracks()) t.stop();
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    if (this.pc) this.pc.close();
    this.stopMic();
    if (this.audio) {
      this.audio.srcObject = null;
      this.audio.remove();
    }
  }
}
