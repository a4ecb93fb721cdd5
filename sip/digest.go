package sip

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/icholy/digest"
)

// Digest auth (RFC 2617, RFC 7616 with MD5, as SIP phones speak it) with
// stateless nonces: a nonce carries the time it was issued and an HMAC of
// that time, a salt, the realm and the client's address, so the server
// checks it without remembering it, refuses one minted for another
// address, and calls it stale once older than NonceTTL.
//
// Without server state a captured answer can be replayed from the same
// address until its nonce expires; nonce counts (qop=auth) are therefore
// not tracked. The digest uri is taken as the client sent it (SIPp sends
// sip:host:port rather than the Request-URI), so it binds nothing.

const (
	nonceTimeLen = 8
	nonceSaltLen = 8
	nonceMACLen  = 16
	nonceLen     = nonceTimeLen + nonceSaltLen + nonceMACLen
	// nonceSkew is how far in the future a nonce's time may lie (clock
	// adjustments between issue and check).
	nonceSkew = 5 * time.Second
)

// nonceState is what checking a nonce found.
type nonceState int

const (
	nonceInvalid nonceState = iota // not ours, altered, or for another address
	nonceStale                     // ours but older than the TTL
	nonceValid
)

// nonces issues and checks stateless nonces.
type nonces struct {
	key   []byte
	realm string
	ttl   time.Duration
	now   func() time.Time
}

// issue returns a new nonce for a client at src.
func (n *nonces) issue(src netip.Addr) string {
	var b [nonceLen]byte
	binary.BigEndian.PutUint64(b[:nonceTimeLen], uint64(n.now().Unix()))
	rand.Read(b[nonceTimeLen : nonceTimeLen+nonceSaltLen])
	copy(b[nonceTimeLen+nonceSaltLen:], n.mac(b[:nonceTimeLen+nonceSaltLen], src))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// check says whether nonce is one this server issued to src, and whether
// it is still fresh.
func (n *nonces) check(nonce string, src netip.Addr) nonceState {
	if base64.RawURLEncoding.DecodedLen(len(nonce)) != nonceLen {
		return nonceInvalid
	}
	b, err := base64.RawURLEncoding.DecodeString(nonce)
	if err != nil || len(b) != nonceLen {
		return nonceInvalid
	}
	if !hmac.Equal(b[nonceTimeLen+nonceSaltLen:], n.mac(b[:nonceTimeLen+nonceSaltLen], src)) {
		return nonceInvalid
	}
	issued := time.Unix(int64(binary.BigEndian.Uint64(b[:nonceTimeLen])), 0)
	now := n.now()
	switch {
	case issued.After(now.Add(nonceSkew)):
		return nonceInvalid
	case now.Sub(issued) > n.ttl:
		return nonceStale
	}
	return nonceValid
}

func (n *nonces) mac(stampAndSalt []byte, src netip.Addr) []byte {
	m := hmac.New(sha256.New, n.key)
	m.Write([]byte("phoned sip nonce\x00"))
	m.Write(stampAndSalt)
	m.Write([]byte(n.realm))
	m.Write([]byte{0})
	m.Write([]byte(src.Unmap().String()))
	return m.Sum(nil)[:nonceMACLen]
}

// challenge returns the value of a WWW-Authenticate or Proxy-Authenticate
// header with a fresh nonce for src. qop=auth is offered; clients that
// answer without qop (RFC 2069 style) are accepted too.
func (n *nonces) challenge(src netip.Addr, stale bool) string {
	c := digest.Challenge{
		Realm:     n.realm,
		Nonce:     n.issue(src),
		Algorithm: "MD5",
		QOP:       []string{"auth"},
		Stale:     stale,
	}
	return c.String()
}

// findCredentials returns the digest credentials for realm among the
// values of the Authorization (or Proxy-Authorization) headers. found is
// false when no header is for this realm; err is set when one that is
// cannot be read.
func findCredentials(values []string, realm string) (cred *digest.Credentials, found bool, err error) {
	for _, v := range values {
		if !digest.IsDigest(v) {
			continue
		}
		c, err := digest.ParseCredentials(v)
		if err != nil {
			return nil, true, fmt.Errorf("read digest credentials: %w", err)
		}
		if c.Realm == realm {
			return c, true, nil
		}
	}
	return nil, false, nil
}

// checkCredentialsForm refuses credentials that cannot be checked: an
// algorithm other than MD5, a qop other than auth, missing fields.
func checkCredentialsForm(c *digest.Credentials) error {
	switch {
	case c.Username == "", c.Nonce == "", c.URI == "", c.Response == "":
		return fmt.Errorf("digest credentials lack username, nonce, uri or response")
	case c.Algorithm != "" && !strings.EqualFold(c.Algorithm, "MD5"):
		return fmt.Errorf("digest algorithm %q is not MD5", c.Algorithm)
	case c.Userhash:
		return fmt.Errorf("digest userhash was not offered")
	case c.QOP != "" && c.QOP != "auth":
		return fmt.Errorf("digest qop %q is not auth", c.QOP)
	case c.QOP == "auth" && (c.Cnonce == "" || c.Nc <= 0):
		return fmt.Errorf("digest qop=auth without cnonce or nc")
	}
	return nil
}

// digestResponse computes the response a client knowing password must
// send for method with credentials c (RFC 2617 §3.2.2.1, MD5).
func digestResponse(c *digest.Credentials, method, password string) string {
	ha1 := md5Hex(c.Username + ":" + c.Realm + ":" + password)
	ha2 := md5Hex(method + ":" + c.URI)
	if c.QOP == "" {
		return md5Hex(ha1 + ":" + c.Nonce + ":" + ha2)
	}
	return md5Hex(fmt.Sprintf("%s:%s:%08x:%s:%s:%s", ha1, c.Nonce, c.Nc, c.Cnonce, c.QOP, ha2))
}

// responseMatches compares in constant time (hex is case-insensitive).
func responseMatches(got, want string) bool {
	return subtle.ConstantTimeCompare([]byte(strings.ToLower(got)), []byte(want)) == 1
}

func md5Hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}
