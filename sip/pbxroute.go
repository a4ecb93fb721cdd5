package sip

import (
	"fmt"
	"net"
	"strings"

	gosip "github.com/emiago/sipgo/sip"
)

// PBXRoute is where Calls sends calls to outside numbers: the PBX or SIP
// trunk, and the account phoned answers its digest challenges with.
type PBXRoute struct {
	// URI is the PBX as "sip:host[:port]" (port 5060 when absent), with
	// an optional ";transport=tcp". It has no user part: the number called
	// becomes it.
	URI string
	// Username and Password answer the PBX's 401/407 challenge to an
	// INVITE. Empty: phoned does not authenticate (the PBX trusts its
	// address).
	Username string
	Password string
}

// pbxRoute is a checked PBXRoute.
type pbxRoute struct {
	PBXRoute
	uri       gosip.Uri
	transport string // "UDP" or "TCP"
}

// Validate checks the route; the errors name the field at fault and never
// show the password.
func (r PBXRoute) Validate() error {
	_, err := r.parse()
	return err
}

func (r PBXRoute) parse() (*pbxRoute, error) {
	s := strings.TrimSpace(r.URI)
	u, err := parsePBXURI(s) // the same form as the PBX registrations'
	if err != nil {
		return nil, fmt.Errorf("%w: PBX URI %q: %v (want sip:host[:port][;transport=udp|tcp])", ErrInvalidConfig, s, err)
	}
	if net.ParseIP(strings.Trim(u.Host, "[]")) == nil && !validHostname(u.Host) {
		return nil, fmt.Errorf("%w: PBX URI %q: %q is not an IP address or host name", ErrInvalidConfig, s, u.Host)
	}
	if u.Port == 0 {
		u.Port = 5060
	}
	pr := &pbxRoute{PBXRoute: r, uri: gosip.Uri{Scheme: "sip", Host: u.Host, Port: u.Port}, transport: "UDP"}
	if v, ok := u.UriParams.Get("transport"); ok && strings.EqualFold(v, "tcp") {
		pr.transport = "TCP"
	}
	if r.Username != "" && (CheckDisplayName(r.Username) != nil || strings.ContainsAny(r.Username, " \t")) {
		return nil, fmt.Errorf("%w: PBX user %q has spaces, quotes or control characters", ErrInvalidConfig, r.Username)
	}
	if hasControl(r.Password) {
		return nil, fmt.Errorf("%w: the PBX password has a control character", ErrInvalidConfig)
	}
	switch {
	case r.Username != "" && r.Password == "":
		return nil, fmt.Errorf("%w: a PBX user needs a PBX password", ErrInvalidConfig)
	case r.Username == "" && r.Password != "":
		return nil, fmt.Errorf("%w: a PBX password needs a PBX user", ErrInvalidConfig)
	}
	return pr, nil
}

// validHostname reports whether h is a DNS name: labels of letters,
// digits and hyphens.
func validHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// SetPBX sends calls to outside numbers to the PBX from now on; a route
// with an empty URI removes it (outside numbers then fail).
func (c *Calls) SetPBX(r PBXRoute) error {
	var pr *pbxRoute
	if strings.TrimSpace(r.URI) != "" {
		var err error
		if pr, err = r.parse(); err != nil {
			return err
		}
	}
	c.mu.Lock()
	c.pbx = pr
	c.mu.Unlock()
	return nil
}

func (c *Calls) pbxRoute() (*pbxRoute, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pbx, c.pbx != nil
}

// DialsOutside implements switchboard.OutsideDialer: outside numbers can
// be called when a PBX is configured.
func (c *Calls) DialsOutside() bool {
	_, ok := c.pbxRoute()
	return ok
}

// calledExtension is the extension an INVITE is for: its Request-URI's
// user, except for a call to the trunk account (--pbx-user), which a
// trunk addresses to the account it registered and which is meant for
// the number in its To header.
func (c *Calls) calledExtension(req *gosip.Request) string {
	ext := req.Recipient.User
	if pbx, ok := c.pbxRoute(); ok && pbx.Username != "" && ext == pbx.Username {
		if to := req.To(); to != nil && to.Address.User != "" {
			return to.Address.User
		}
	}
	return ext
}
