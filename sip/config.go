package sip

import (
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// Config is the SIP server's configuration. The zero value is usable:
// every zero field takes the default noted beside it, set in one place
// (withDefaults).
type Config struct {
	// Listen is the "host:port" of both the UDP and the TCP listener
	// (default "127.0.0.1:5060"). Port 0 picks a free port, the same for
	// both transports.
	Listen string
	// TLS, if set, makes Serve also listen for SIP over TLS on TLSListen
	// with this configuration (its certificate). Nil: no TLS listener.
	TLS *tls.Config
	// TLSListen is the "host:port" of the TLS listener (default: Listen's
	// host with its port + 1, e.g. 5061 next to 5060; port 0 next to
	// port 0). Used only with TLS.
	TLSListen string
	// Realm is the digest realm of every challenge (default "phoned").
	Realm string
	// Trust lists the addresses (PBX, trunk) whose INVITEs need no digest
	// auth. Empty: every INVITE must authenticate.
	Trust []netip.Prefix
	// UserAgent is sent in the User-Agent header of every message
	// (default "phoned/<module version>").
	UserAgent string

	// MinExpires, MaxExpires and DefaultExpires bound REGISTER: a binding
	// asked for less than MinExpires gets 423 (default 60 s), more than
	// MaxExpires is cut to it (default 3600 s), none asked gets
	// DefaultExpires (default 3600 s). Whole seconds.
	MinExpires, MaxExpires, DefaultExpires time.Duration

	// AuthFailLimit failed digest attempts from one source address within
	// AuthFailWindow (default 10 per minute) block that address for
	// AuthBlock (default 5 minutes): it gets 403 without a challenge.
	AuthFailLimit  int
	AuthFailWindow time.Duration
	AuthBlock      time.Duration

	// NonceTTL is how long a digest nonce is accepted; an older one gets a
	// new challenge with stale=true (default 5 minutes).
	NonceTTL time.Duration
	// NonceKey signs nonces (HMAC-SHA256), so they need no server state.
	// Default: 32 random bytes per process (nonces die with a restart,
	// which costs clients one extra challenge). Give several nodes the
	// same key to accept each other's nonces.
	NonceKey []byte

	// PurgeInterval is how often Serve deletes expired bindings
	// (default 1 minute). Expired bindings are never used in between.
	PurgeInterval time.Duration

	// Now is the clock (default time.Now).
	Now func() time.Time
}

// withDefaults returns c with every zero field set to its default, or an
// error naming the first field that cannot work.
func (c Config) withDefaults() (Config, error) {
	bad := func(format string, args ...any) (Config, error) {
		return Config{}, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
	}
	if c.Listen == "" {
		c.Listen = "127.0.0.1:5060"
	}
	host, port, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return bad("Listen %q is not host:port", c.Listen)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return bad("Listen %q: port is not a number from 0 to 65535", c.Listen)
	}
	if host != "" && host != "localhost" {
		if _, err := netip.ParseAddr(host); err != nil {
			return bad("Listen %q: host is not an IP address (or localhost)", c.Listen)
		}
	}
	if c.TLSListen == "" {
		p, _ := strconv.Atoi(port)
		if p == 65535 {
			if c.TLS != nil {
				return bad("Listen %q: port 65535 leaves no port + 1 for TLSListen; set it", c.Listen)
			}
		} else if p != 0 {
			p++
		}
		c.TLSListen = net.JoinHostPort(host, strconv.Itoa(p))
	}
	if th, tp, err := net.SplitHostPort(c.TLSListen); err != nil {
		return bad("TLSListen %q is not host:port", c.TLSListen)
	} else if p, err := strconv.Atoi(tp); err != nil || p < 0 || p > 65535 {
		return bad("TLSListen %q: port is not a number from 0 to 65535", c.TLSListen)
	} else if th != "" && th != "localhost" {
		if _, err := netip.ParseAddr(th); err != nil {
			return bad("TLSListen %q: host is not an IP address (or localhost)", c.TLSListen)
		}
	}
	if c.TLS != nil && len(c.TLS.Certificates) == 0 && c.TLS.GetCertificate == nil && c.TLS.GetConfigForClient == nil {
		return bad("TLS has no certificate")
	}
	if c.Realm == "" {
		c.Realm = "phoned"
	}
	if strings.ContainsAny(c.Realm, "\"\\") || hasControl(c.Realm) {
		return bad("Realm %q has a quote, backslash or control character", c.Realm)
	}
	trust := make([]netip.Prefix, 0, len(c.Trust))
	for _, p := range c.Trust {
		if !p.IsValid() {
			return bad("Trust has an invalid prefix %v", p)
		}
		trust = append(trust, netip.PrefixFrom(p.Addr().Unmap(), unmappedBits(p)).Masked())
	}
	c.Trust = trust
	if c.UserAgent == "" {
		c.UserAgent = "phoned/" + moduleVersion()
	}
	if hasControl(c.UserAgent) {
		return bad("UserAgent %q has a control character", c.UserAgent)
	}

	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"MinExpires", &c.MinExpires, 60 * time.Second},
		{"MaxExpires", &c.MaxExpires, time.Hour},
		{"DefaultExpires", &c.DefaultExpires, time.Hour},
		{"AuthFailWindow", &c.AuthFailWindow, time.Minute},
		{"AuthBlock", &c.AuthBlock, 5 * time.Minute},
		{"NonceTTL", &c.NonceTTL, 5 * time.Minute},
		{"PurgeInterval", &c.PurgeInterval, time.Minute},
	} {
		if *d.v == 0 {
			*d.v = d.def
		}
		if *d.v < time.Second {
			return bad("%s %v is shorter than a second", d.name, *d.v)
		}
	}
	c.MinExpires = c.MinExpires.Truncate(time.Second)
	c.MaxExpires = c.MaxExpires.Truncate(time.Second)
	c.DefaultExpires = c.DefaultExpires.Truncate(time.Second)
	if c.MinExpires > c.MaxExpires {
		return bad("MinExpires %v is above MaxExpires %v", c.MinExpires, c.MaxExpires)
	}
	if c.DefaultExpires < c.MinExpires || c.DefaultExpires > c.MaxExpires {
		return bad("DefaultExpires %v is outside MinExpires %v .. MaxExpires %v", c.DefaultExpires, c.MinExpires, c.MaxExpires)
	}
	if c.AuthFailLimit == 0 {
		c.AuthFailLimit = 10
	}
	if c.AuthFailLimit < 0 {
		return bad("AuthFailLimit %d is negative", c.AuthFailLimit)
	}
	if c.NonceKey == nil {
		c.NonceKey = make([]byte, 32)
		rand.Read(c.NonceKey) // never fails (Go 1.24+ crashes the program itself)
	} else if len(c.NonceKey) < 16 {
		return bad("NonceKey has %d bytes; at least 16 are needed", len(c.NonceKey))
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}

// unmappedBits is the prefix length of p once its address is unmapped
// (::ffff:10.0.0.0/104 is 10.0.0.0/8), so that prefixes and sources
// compare in one family.
func unmappedBits(p netip.Prefix) int {
	if p.Addr().Is4In6() {
		return max(p.Bits()-96, 0)
	}
	return p.Bits()
}

// moduleVersion is phoned's version as the Go toolchain stamped it into
// the binary ("dev" for a build from a work tree without a tag).
func moduleVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok || bi.Main.Version == "" || bi.Main.Version == "(devel)" {
		return "dev"
	}
	return bi.Main.Version
}
