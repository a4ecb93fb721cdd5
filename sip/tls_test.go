package sip

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"
)

// selfSigned is a certificate for 127.0.0.1 made in memory, and a pool
// trusting it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "phoned test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// With a certificate, Serve also listens for SIP over TLS: an OPTIONS
// sent there gets its 200 on the same connection.
func TestServeTLSAnswersOptions(t *testing.T) {
	cert, pool := selfSigned(t)
	s, err := New(Config{Listen: "127.0.0.1:0", TLS: &tls.Config{Certificates: []tls.Certificate{cert}}},
		Deps{Log: testLogger(t), Directory: newDirectory(alice), Bindings: newBindings(), Inbound: &inbound{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	select {
	case <-s.Ready():
	case err := <-done:
		t.Fatalf("Serve: %v", err)
	}
	addr := s.TLSAddr()
	if !addr.IsValid() || addr.Port() == 0 {
		t.Fatalf("TLSAddr %v", addr)
	}

	conn, err := tls.Dial("tcp", addr.String(), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("TLS handshake: %v", err)
	}
	defer conn.Close()
	me := conn.LocalAddr().String()
	req := fmt.Sprintf("OPTIONS sip:%s;transport=tls SIP/2.0\r\nVia: SIP/2.0/TLS %s;branch=z9hG4bK-tls1;rport\r\n"+
		"From: <sip:probe@127.0.0.1>;tag=p1\r\nTo: <sip:%s>\r\nCall-ID: tls-1@test\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		addr, me, addr)
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	if !strings.HasPrefix(line, "SIP/2.0 200") {
		t.Fatalf("OPTIONS over TLS answered %q", line)
	}
}

func TestTLSListenConfig(t *testing.T) {
	cert, _ := selfSigned(t)
	withCert := &tls.Config{Certificates: []tls.Certificate{cert}}
	for _, c := range []struct {
		cfg  Config
		want string // TLSListen after defaults; "" for an error
	}{
		{Config{}, "127.0.0.1:5061"},
		{Config{Listen: "0.0.0.0:5070"}, "0.0.0.0:5071"},
		{Config{Listen: "[::1]:5060"}, "[::1]:5061"},
		{Config{Listen: "127.0.0.1:0"}, "127.0.0.1:0"},
		{Config{Listen: "127.0.0.1:5060", TLSListen: "127.0.0.1:5999"}, "127.0.0.1:5999"},
		{Config{Listen: "127.0.0.1:65535"}, "127.0.0.1:65535"}, // no TLS: unused
		{Config{Listen: "127.0.0.1:65535", TLS: withCert}, ""},
		{Config{TLSListen: "nohost"}, ""},
		{Config{TLSListen: "127.0.0.1:70000"}, ""},
		{Config{TLSListen: "example.org:5061"}, ""},
		{Config{TLS: &tls.Config{}}, ""}, // no certificate
	} {
		got, err := c.cfg.withDefaults()
		if c.want == "" {
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("%+v: err %v, want ErrInvalidConfig", c.cfg, err)
			}
			continue
		}
		if err != nil || got.TLSListen != c.want {
			t.Errorf("Listen %q TLSListen %q: got %q, %v; want %q", c.cfg.Listen, c.cfg.TLSListen, got.TLSListen, err, c.want)
		}
	}
}

// Without TLS there is no TLS address.
func TestNoTLSAddrWithoutTLS(t *testing.T) {
	s, err := New(Config{Listen: "127.0.0.1:0"}, Deps{Log: testLogger(t), Directory: newDirectory(alice), Bindings: newBindings()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	<-s.Ready()
	if a := s.TLSAddr(); a.IsValid() {
		t.Errorf("TLSAddr %v without TLS", a)
	}
	cancel()
	<-done
}
