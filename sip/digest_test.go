package sip

import (
	"strings"
	"testing"
	"time"

	"github.com/icholy/digest"
)

// The example of RFC 2617 §3.5 (MD5, qop=auth).
func TestDigestResponseRFC2617Example(t *testing.T) {
	c := &digest.Credentials{Username: "Mufasa", Realm: "testrealm@host.com", Nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
		URI: "/dir/index.html", QOP: "auth", Nc: 1, Cnonce: "0a4f113b"}
	if got, want := digestResponse(c, "GET", "Circle Of Life"), "6629fae49393a05397450978507c4ef1"; got != want {
		t.Fatalf("response %s, want %s", got, want)
	}
	if !responseMatches("6629FAE49393A05397450978507C4EF1", "6629fae49393a05397450978507c4ef1") {
		t.Fatal("upper-case hex refused")
	}
}

// What a client library computes, the server accepts, with and without qop.
func TestDigestAgreesWithClientLibrary(t *testing.T) {
	clk := newClock()
	n := &nonces{key: []byte("0123456789abcdef0123456789abcdef"), realm: "phoned", ttl: 5 * time.Minute, now: clk.Now}
	src := mustAddr(t, "192.0.2.10")
	for _, qop := range []bool{true, false} {
		chal, err := digest.ParseChallenge(n.challenge(src, false))
		if err != nil {
			t.Fatal(err)
		}
		if !qop {
			chal.QOP = nil
		}
		cred, err := digest.Digest(chal, digest.Options{Method: "INVITE", URI: "sip:127.0.0.1:5092", Username: "201", Password: "secret201", Count: 7})
		if err != nil {
			t.Fatal(err)
		}
		parsed, found, err := findCredentials([]string{`Digest realm="other", username="x"`, cred.String()}, "phoned")
		if err != nil || !found {
			t.Fatalf("find credentials: %v %v", found, err)
		}
		if err := checkCredentialsForm(parsed); err != nil {
			t.Fatal(err)
		}
		if n.check(parsed.Nonce, src) != nonceValid {
			t.Fatal("own nonce not valid")
		}
		if !responseMatches(parsed.Response, digestResponse(parsed, "INVITE", "secret201")) {
			t.Fatalf("qop %v: the library's answer does not match", qop)
		}
		if responseMatches(parsed.Response, digestResponse(parsed, "INVITE", "secret202")) ||
			responseMatches(parsed.Response, digestResponse(parsed, "REGISTER", "secret201")) {
			t.Fatal("another password or method matches")
		}
	}
}

func TestNonces(t *testing.T) {
	clk := newClock()
	n := &nonces{key: []byte("0123456789abcdef0123456789abcdef"), realm: "phoned", ttl: 5 * time.Minute, now: clk.Now}
	src := mustAddr(t, "192.0.2.10")
	nonce := n.issue(src)
	if nonce == n.issue(src) {
		t.Fatal("two nonces alike")
	}
	other := &nonces{key: []byte("another key, just as long as it."), realm: "phoned", ttl: 5 * time.Minute, now: clk.Now}
	otherRealm := &nonces{key: n.key, realm: "elsewhere", ttl: 5 * time.Minute, now: clk.Now}
	flip := []byte(nonce)
	flip[3] ^= 1
	for _, tc := range []struct {
		name  string
		n     *nonces
		nonce string
		src   string
		want  nonceState
	}{
		{"fresh", n, nonce, "192.0.2.10", nonceValid},
		{"IPv4-mapped source", n, nonce, "::ffff:192.0.2.10", nonceValid},
		{"another source", n, nonce, "192.0.2.11", nonceInvalid},
		{"another key", other, nonce, "192.0.2.10", nonceInvalid},
		{"another realm", otherRealm, nonce, "192.0.2.10", nonceInvalid},
		{"altered", n, string(flip), "192.0.2.10", nonceInvalid},
		{"truncated", n, nonce[:20], "192.0.2.10", nonceInvalid},
		{"empty", n, "", "192.0.2.10", nonceInvalid},
		{"not base64", n, strings.Repeat("!", len(nonce)), "192.0.2.10", nonceInvalid},
	} {
		if got := tc.n.check(tc.nonce, mustAddr(t, tc.src)); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	clk.Add(5 * time.Minute)
	if n.check(nonce, src) != nonceValid {
		t.Fatal("nonce stale at exactly its TTL")
	}
	clk.Add(time.Second)
	if n.check(nonce, src) != nonceStale {
		t.Fatal("nonce not stale after its TTL")
	}
	// A nonce from the future (a clock set back) is not accepted.
	clk.Add(-time.Hour)
	if n.check(n.issue(src), src) != nonceValid {
		t.Fatal("fresh nonce refused")
	}
	if n.check(nonce, src) != nonceInvalid {
		t.Fatal("a nonce issued 54 minutes in the future (the clock went back) was accepted")
	}
}

func TestCredentialsForm(t *testing.T) {
	good := digest.Credentials{Username: "201", Realm: "phoned", Nonce: "n", URI: "sip:h", Response: "r"}
	for _, tc := range []struct {
		name string
		edit func(*digest.Credentials)
		ok   bool
	}{
		{"no qop", func(*digest.Credentials) {}, true},
		{"qop auth", func(c *digest.Credentials) { c.QOP, c.Cnonce, c.Nc = "auth", "c", 1 }, true},
		{"MD5 named", func(c *digest.Credentials) { c.Algorithm = "md5" }, true},
		{"SHA-256", func(c *digest.Credentials) { c.Algorithm = "SHA-256" }, false},
		{"MD5-sess", func(c *digest.Credentials) { c.Algorithm = "MD5-sess" }, false},
		{"auth-int", func(c *digest.Credentials) { c.QOP, c.Cnonce, c.Nc = "auth-int", "c", 1 }, false},
		{"qop without cnonce", func(c *digest.Credentials) { c.QOP, c.Nc = "auth", 1 }, false},
		{"qop without nc", func(c *digest.Credentials) { c.QOP, c.Cnonce = "auth", "c" }, false},
		{"userhash", func(c *digest.Credentials) { c.Userhash = true }, false},
		{"no response", func(c *digest.Credentials) { c.Response = "" }, false},
		{"no uri", func(c *digest.Credentials) { c.URI = "" }, false},
	} {
		c := good
		tc.edit(&c)
		if err := checkCredentialsForm(&c); (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if _, found, err := findCredentials([]string{`Digest realm="phoned", nc=zz`}, "phoned"); !found || err == nil {
		t.Fatal("unreadable credentials not reported")
	}
	if _, found, _ := findCredentials([]string{`Basic dXNlcjpwYXNz`, `Digest realm="other"`}, "phoned"); found {
		t.Fatal("credentials of another realm or scheme taken")
	}
}
