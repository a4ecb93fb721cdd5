package main

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// writeKeyPair writes a self-signed certificate for 127.0.0.1 and its key
// as PEM files, valid until notAfter.
func writeKeyPair(t *testing.T, notAfter time.Time) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "phoned test"},
		NotBefore:    notAfter.Add(-48 * time.Hour),
		NotAfter:     notAfter,
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestParseServeSIPTLS(t *testing.T) {
	cert, key := writeKeyPair(t, time.Now().Add(24*time.Hour))
	oldCert, oldKey := writeKeyPair(t, time.Now().Add(-24*time.Hour))
	parse := func(args []string, env map[string]string) (serveConfig, error) {
		return parseServe(args, envOf(env), &bytes.Buffer{})
	}

	cfg, err := parse(nil, nil)
	if err != nil || cfg.TLS != nil {
		t.Fatalf("no TLS options: TLS %v, err %v", cfg.TLS, err)
	}
	cfg, err = parse([]string{"--sip-tls-cert", cert, "--sip-tls-key", key}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TLS == nil || len(cfg.TLS.Certificates) != 1 || cfg.SIPTLS != "127.0.0.1:5061" {
		t.Fatalf("TLS %v at %q, want the key pair at 127.0.0.1:5061", cfg.TLS, cfg.SIPTLS)
	}
	cfg, err = parse([]string{"--sip", "0.0.0.0:5080", "--sip-tls", "0.0.0.0:5999"}, map[string]string{"PHONED_SIP_TLS_CERT": cert, "PHONED_SIP_TLS_KEY": key})
	if err != nil || cfg.TLS == nil || cfg.SIPTLS != "0.0.0.0:5999" {
		t.Fatalf("env key pair, --sip-tls: TLS %v at %q, err %v", cfg.TLS, cfg.SIPTLS, err)
	}
	cfg, err = parse([]string{"--sip", "0.0.0.0:5080", "--sip-tls-cert", cert, "--sip-tls-key", key}, nil)
	if err != nil || cfg.SIPTLS != "0.0.0.0:5081" {
		t.Fatalf("default next to --sip 0.0.0.0:5080: %q, %v", cfg.SIPTLS, err)
	}

	for _, c := range []struct {
		name string
		args []string
		env  map[string]string
		want []string // substrings of the error
	}{
		{"cert alone", []string{"--sip-tls-cert", cert}, nil, []string{"--sip-tls-cert", "--sip-tls-key", "both or neither"}},
		{"key alone from env", nil, map[string]string{"PHONED_SIP_TLS_KEY": key}, []string{"--sip-tls-key (from PHONED_SIP_TLS_KEY)", "--sip-tls-cert"}},
		{"address without cert", []string{"--sip-tls", "127.0.0.1:5061"}, nil, []string{"--sip-tls", "--sip-tls-cert"}},
		{"bad address", []string{"--sip-tls", "nowhere", "--sip-tls-cert", cert, "--sip-tls-key", key}, nil, []string{"--sip-tls:", "host:port"}},
		{"no port + 1", []string{"--sip", "127.0.0.1:65535", "--sip-tls-cert", cert, "--sip-tls-key", key}, nil, []string{"--sip-tls", "65535"}},
		{"missing file", []string{"--sip-tls-cert", cert + ".none", "--sip-tls-key", key}, nil, []string{"--sip-tls-cert", "--sip-tls-key", "key pair"}},
		{"key of another cert", []string{"--sip-tls-cert", cert, "--sip-tls-key", oldKey}, nil, []string{"--sip-tls-cert", "--sip-tls-key"}},
		{"expired", []string{"--sip-tls-cert", oldCert, "--sip-tls-key", oldKey}, nil, []string{"--sip-tls-cert", "expired"}},
	} {
		_, err := parse(c.args, c.env)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", c.name, err, w)
			}
		}
	}
}

var tlsLine = regexp.MustCompile(`SIP listening over TLS.* tls=(\S+)`)

// serve with a key pair listens for SIP over TLS too: an OPTIONS there
// gets 200.
func TestServeSIPOverTLS(t *testing.T) {
	cert, key := writeKeyPair(t, time.Now().Add(24*time.Hour))
	d := startServe(t, filepath.Join(t.TempDir(), "phoned.db"), "--sip-tls-cert", cert, "--sip-tls-key", key)
	var addr string
	for deadline := time.Now().Add(startTimeout); addr == ""; time.Sleep(20 * time.Millisecond) {
		if m := tlsLine.FindStringSubmatch(d.stderr.String()); m != nil {
			addr = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no TLS listener in the log:\n%s", d.stderr)
		}
	}
	certPEM, err := os.ReadFile(cert)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("TLS handshake with %s: %v", addr, err)
	}
	defer conn.Close()
	req := fmt.Sprintf("OPTIONS sip:%s;transport=tls SIP/2.0\r\nVia: SIP/2.0/TLS %s;branch=z9hG4bK-tls1;rport\r\n"+
		"From: <sip:probe@127.0.0.1>;tag=p1\r\nTo: <sip:%s>\r\nCall-ID: tls-serve@test\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		addr, conn.LocalAddr(), addr)
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "SIP/2.0 200") {
		t.Fatalf("OPTIONS over TLS answered %q, %v", line, err)
	}
}
