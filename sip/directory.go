package sip

import (
	"context"
	"time"
)

// Account is what the server needs to know of the user behind an
// extension to check its digest auth.
type Account struct {
	UserID    int64
	Login     string
	Name      string
	Extension string
	Password  string // the digest secret; an empty one never authenticates
	Active    bool
}

// Directory finds accounts by extension.
type Directory interface {
	// SIPAccount returns the account of the extension, or an error
	// wrapping ErrUnknownAccount when there is none.
	SIPAccount(ctx context.Context, extension string) (Account, error)
}

// Transport is the transport a binding was registered over: where phoned
// must send requests to reach the device again.
type Transport string

// The transports a binding may name.
const (
	TransportUDP Transport = "udp"
	TransportTCP Transport = "tcp"
	TransportTLS Transport = "tls"
	TransportWS  Transport = "ws"
	TransportWSS Transport = "wss"
)

func (t Transport) String() string { return string(t) }

// Binding is one registered contact of an extension (RFC 3261 §10).
type Binding struct {
	Extension string
	UserID    int64
	// Contact is the Contact URI as the device registered it, without
	// the header parameters (expires, q): the key of the binding.
	Contact string
	// Received is the source "ip:port" the REGISTER came from, and
	// Transport its transport: behind NAT these, not Contact, reach the
	// device.
	Received  string
	Transport Transport
	UserAgent string
	// CallID and CSeq of the REGISTER that saved the binding, to refuse
	// an older request arriving late (RFC 3261 §10.3 step 7).
	CallID    string
	CSeq      uint32
	ExpiresAt time.Time
	UpdatedAt time.Time
}

// Bindings stores registrations. Lists return only the bindings still
// alive at now, so an expired binding is never used even before
// PurgeSIPBindings deletes it.
type Bindings interface {
	// SaveSIPBinding inserts the binding or replaces the one with the
	// same extension and contact.
	SaveSIPBinding(ctx context.Context, b Binding) error
	// RemoveSIPBinding deletes one contact of an extension (none: no error).
	RemoveSIPBinding(ctx context.Context, extension, contact string) error
	// RemoveSIPBindings deletes every contact of an extension.
	RemoveSIPBindings(ctx context.Context, extension string) error
	// SIPBindings lists the live bindings of an extension, by contact.
	SIPBindings(ctx context.Context, extension string, now time.Time) ([]Binding, error)
	// AllSIPBindings lists every live binding, by extension and contact.
	AllSIPBindings(ctx context.Context, now time.Time) ([]Binding, error)
	// PurgeSIPBindings deletes the bindings expired at now and says how
	// many there were.
	PurgeSIPBindings(ctx context.Context, now time.Time) (int, error)
}
