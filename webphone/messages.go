package webphone

import (
	"encoding/json"
	"fmt"
	"regexp"

	"phoned/switchboard"
)

// maxMessage bounds one WebSocket message from a page; an SDP offer is a
// few kilobytes.
const maxMessage = 64 << 10

// inMsg is a message from the page: the envelope and every field a type
// may carry. Unknown fields are refused.
type inMsg struct {
	Type      string          `json:"type"`
	Req       string          `json:"req,omitempty"`
	Leg       string          `json:"leg,omitempty"`
	Call      string          `json:"call,omitempty"`
	SDP       string          `json:"sdp,omitempty"`
	CallID    *int64          `json:"call_id,omitempty"`
	PartnerID *int64          `json:"partner_id,omitempty"`
	Number    string          `json:"number,omitempty"`
	Candidate json.RawMessage `json:"candidate,omitempty"`
	Visible   *bool           `json:"visible,omitempty"`
}

// idPattern is the form of the ids a page makes up (leg, req) and of call ids.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// errBadMessage is a page's message that cannot be acted on.
type errBadMessage struct{ why string }

func (e errBadMessage) Error() string { return e.why }

func badMessage(format string, args ...any) error {
	return errBadMessage{why: fmt.Sprintf(format, args...)}
}

// parseMessage decodes and checks one message from a page.
func parseMessage(b []byte) (inMsg, error) {
	var m inMsg
	if err := decodeStrict(b, &m); err != nil {
		return m, badMessage("not a message: %v", err)
	}
	if m.Req != "" && !idPattern.MatchString(m.Req) {
		return m, badMessage("req must be 1 to 64 letters, digits, - or _")
	}
	need := func(field, v string) error {
		if !idPattern.MatchString(v) {
			return badMessage("%s %q: %s is required, 1 to 64 letters, digits, - or _", m.Type, v, field)
		}
		return nil
	}
	switch m.Type {
	case "dial":
		if err := need("leg", m.Leg); err != nil {
			return m, err
		}
		if m.SDP == "" {
			return m, badMessage("dial: sdp (the browser's offer) is required")
		}
		if m.CallID == nil && m.PartnerID == nil && m.Number == "" {
			return m, badMessage("dial: give call_id, partner_id or number")
		}
	case "answer", "reattach":
		if err := need("call", m.Call); err != nil {
			return m, err
		}
		if err := need("leg", m.Leg); err != nil {
			return m, err
		}
		if m.SDP == "" {
			return m, badMessage("%s: sdp (the browser's offer) is required", m.Type)
		}
	case "reject", "hangup":
		if err := need("call", m.Call); err != nil {
			return m, err
		}
	case "ice":
		if err := need("leg", m.Leg); err != nil {
			return m, err
		}
	case "focus":
		if m.Visible == nil {
			return m, badMessage("focus: visible (true or false) is required")
		}
	case "":
		return m, badMessage("a message needs a type")
	default:
		return m, badMessage("unknown message type %q", m.Type)
	}
	return m, nil
}

// callJSON is a live call as the page sees it: the engine's snapshot and
// the state of its browser leg.
type callJSON struct {
	switchboard.Snapshot
	Browser  bool `json:"browser"`
	Attached bool `json:"attached"`
}

// partnerCard is the caller shown on an incoming call.
type partnerCard struct {
	ID      int64          `json:"id"`
	Name    string         `json:"name"`
	Company string         `json:"company,omitempty"`
	Phones  []partnerPhone `json:"phones"`
}

type partnerPhone struct {
	Type   string `json:"type,omitempty"`
	Number string `json:"number"`
}

// Messages from phoned.
type (
	helloMsg struct {
		Type  string     `json:"type"` // hello
		User  userJSON   `json:"user"`
		Calls []callJSON `json:"calls"`
	}
	userJSON struct {
		ID        int64  `json:"id"`
		Login     string `json:"login"`
		Name      string `json:"name"`
		Role      string `json:"role"`
		Extension string `json:"extension,omitempty"`
		TZ        string `json:"tz,omitempty"`
	}
	sdpMsg struct {
		Type string `json:"type"` // sdp
		Req  string `json:"req,omitempty"`
		Call string `json:"call,omitempty"`
		Leg  string `json:"leg"`
		SDP  string `json:"sdp"`
	}
	iceMsg struct {
		Type      string `json:"type"` // ice
		Leg       string `json:"leg"`
		Candidate any    `json:"candidate"`
	}
	incomingMsg struct {
		Type    string       `json:"type"` // incoming
		Call    callJSON     `json:"call"`
		Partner *partnerCard `json:"partner"`
		Ring    bool         `json:"ring"` // this page plays the ring tone (one page per agent does)
	}
	callMsg struct {
		Type string   `json:"type"` // call
		Call callJSON `json:"call"`
	}
	idMsg struct {
		Type  string `json:"type"` // taken, dtmf, queue
		Call  string `json:"call,omitempty"`
		Digit string `json:"digit,omitempty"`
	}
	errorMsg struct {
		Type  string `json:"type"` // error
		Req   string `json:"req,omitempty"`
		Call  string `json:"call,omitempty"`
		Code  string `json:"code"`
		Error string `json:"error"`
	}
)
