package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"phoned/crm"
	"phoned/media"
	"phoned/sip"
	"phoned/switchboard"
)

// serveConfig is the daemon's configuration, from flags and environment.
type serveConfig struct {
	DB        string
	HTTP      string
	SIP       string
	SIPTLS    string      // the SIP over TLS listen address (used with TLS)
	TLS       *tls.Config // the SIP TLS certificate (nil: no TLS listener)
	TZ        *time.Location
	Region    string
	LogLevel  slog.Level
	LogFormat string
	Demo      bool

	Trust       []netip.Prefix  // addresses allowed to send INVITEs without digest auth (the PBX)
	RingTimeout time.Duration   // how long an incoming call rings
	RTPPorts    media.PortRange // UDP ports for RTP
	MediaIP     netip.Addr      // the address phoned's RTP binds and its SDP shows

	WebRTCPorts media.PortRange // UDP ports of the browsers' WebRTC media
	WebRTCNATIP string          // the public address announced to browsers behind a 1:1 NAT (empty: none)
	WebRTCGrace time.Duration   // how long a call whose page went away waits for it to come back
	WebRTCMax   int             // an agent's browser calls at once

	DialPlan    *switchboard.DialPlan // the outside numbers click-to-dial may call (--dial-allow)
	PBX         string                // the PBX or trunk, sip:host[:port] (empty: none; only extensions are dialled)
	PBXUser     string                // the account that answers the PBX's digest challenges
	PBXPassword string                // its password: never logged nor shown
	PBXRegister bool                  // register the extensions (or the trunk user) with the PBX
}

// option is one serve flag with its environment variable and default.
type option struct {
	flag, env, def, help string
}

var serveOptions = []option{
	{"db", "PHONED_DB", "phoned.db", "SQLite database file (created if missing)"},
	{"http", "PHONED_HTTP", "127.0.0.1:8080", "HTTP address of the API and the widget"},
	{"sip", "PHONED_SIP", "127.0.0.1:5060", "SIP address (UDP and TCP)"},
	{"sip-tls", "PHONED_SIP_TLS", "", "SIP over TLS address, with --sip-tls-cert (default: the --sip host, port + 1)"},
	{"sip-tls-cert", "PHONED_SIP_TLS_CERT", "", "PEM certificate (chain) file for SIP over TLS; with --sip-tls-key"},
	{"sip-tls-key", "PHONED_SIP_TLS_KEY", "", "PEM private key file of --sip-tls-cert"},
	{"tz", "PHONED_TZ", "UTC", "default time zone (IANA name) of users and partners that have none"},
	{"region", "PHONED_REGION", "BE", "default phone region (ISO 3166 code) of numbers written without +"},
	{"log-level", "PHONED_LOG_LEVEL", "info", "log level: debug, info, warn or error"},
	{"log-format", "PHONED_LOG_FORMAT", "text", "log format: text or json"},
	{"demo", "PHONED_DEMO", "false", "seed demo users, partners and today's queue into an empty database"},
	{"trust", "PHONED_TRUST", "", "comma-separated addresses or CIDRs of the PBX/trunk, whose INVITEs need no digest auth"},
	{"ring-timeout", "PHONED_RING_TIMEOUT", "30s", "how long an incoming call rings before it is missed"},
	{"rtp-ports", "PHONED_RTP_PORTS", "20000-29999", "UDP port range for RTP (even ports)"},
	{"media-ip", "PHONED_MEDIA_IP", "", "IP address of phoned's RTP sockets and SDP (default: the --sip address, or 127.0.0.1 when it is unspecified)"},
	{"webrtc-ports", "PHONED_WEBRTC_PORTS", "40000-49999", "UDP port range for the browsers' WebRTC audio"},
	{"webrtc-nat-ip", "PHONED_WEBRTC_NAT_IP", "", "public IP address to announce to browsers when phoned is behind a 1:1 NAT (default: none)"},
	{"webrtc-grace", "PHONED_WEBRTC_GRACE", "30s", "how long a call whose browser page went away (reload, lost connection) waits for it to come back before hanging up"},
	{"webrtc-max-calls", "PHONED_WEBRTC_MAX_CALLS", "4", "how many calls one agent may have in the browser at once (a guard against a page dialling in a loop)"},
	{"dial-allow", "PHONED_DIAL_ALLOW", "", "comma-separated E.164 prefixes that click-to-dial may call, e.g. +32,+33 (default: the country code of --region)"},
	{"pbx", "PHONED_PBX", "", "the PBX or SIP trunk that carries calls to outside numbers: sip:host[:port][;transport=tcp] (default: none, only extensions are dialled)"},
	{"pbx-user", "PHONED_PBX_USER", "", "the account phoned answers the PBX's digest challenges with"},
	{"pbx-password", "PHONED_PBX_PASSWORD", "", "that account's password (prefer the environment variable: flags show in ps)"},
	{"pbx-register", "PHONED_PBX_REGISTER", "true", "with --pbx: register the agents' extensions (or --pbx-user) with the PBX; false for a trunk that knows phoned by its address"},
}

// parseServe reads the serve flags over the environment and validates
// every value, naming the option at fault.
func parseServe(args []string, lookupEnv func(string) (string, bool), stderr io.Writer) (serveConfig, error) {
	fs := flag.NewFlagSet("phoned serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	vals := map[string]*string{}
	source := map[string]string{}
	for _, o := range serveOptions {
		def, src := o.def, "default"
		if v, ok := lookupEnv(o.env); ok {
			def, src = v, o.env
		}
		source[o.flag] = src
		if o.flag == "demo" {
			// Checked below with the others, so that --demo wins over a
			// bad PHONED_DEMO as every flag wins over its variable.
			v := def
			vals[o.flag] = &v
			fs.BoolFunc(o.flag, o.help+" (env "+o.env+")", func(s string) error {
				if _, err := strconv.ParseBool(s); err != nil {
					return err
				}
				v = s
				return nil
			})
			continue
		}
		vals[o.flag] = fs.String(o.flag, def, o.help+" (env "+o.env+")")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return serveConfig{}, errUsage
		}
		return serveConfig{}, err
	}
	if fs.NArg() > 0 {
		return serveConfig{}, fmt.Errorf("serve takes no arguments, got %q", fs.Args())
	}
	fs.Visit(func(f *flag.Flag) { source[f.Name] = "flag" })
	name := func(flag string) string {
		for _, o := range serveOptions {
			if o.flag == flag && source[flag] == o.env {
				return "--" + flag + " (from " + o.env + ")"
			}
		}
		return "--" + flag
	}

	var cfg serveConfig
	var err error
	if cfg.DB = strings.TrimSpace(*vals["db"]); cfg.DB == "" {
		return cfg, fmt.Errorf("%s: a database file is required", name("db"))
	}
	if cfg.HTTP, err = checkAddr(*vals["http"]); err != nil {
		return cfg, fmt.Errorf("%s: %w", name("http"), err)
	}
	if cfg.SIP, err = checkAddr(*vals["sip"]); err != nil {
		return cfg, fmt.Errorf("%s: %w", name("sip"), err)
	}
	if err := parseSIPTLS(&cfg, *vals["sip-tls"], *vals["sip-tls-cert"], *vals["sip-tls-key"], name); err != nil {
		return cfg, err
	}
	tz := strings.TrimSpace(*vals["tz"])
	if tz == "" || tz == "Local" {
		return cfg, fmt.Errorf("%s: %q is not an IANA time zone name (e.g. Europe/Brussels)", name("tz"), tz)
	}
	if cfg.TZ, err = time.LoadLocation(tz); err != nil {
		return cfg, fmt.Errorf("%s: unknown time zone %q", name("tz"), tz)
	}
	cfg.Region = strings.ToUpper(strings.TrimSpace(*vals["region"]))
	if !crm.ValidRegion(cfg.Region) {
		return cfg, fmt.Errorf("%s: unknown phone region %q (want an ISO 3166 code such as BE or US)", name("region"), *vals["region"])
	}
	if err := cfg.LogLevel.UnmarshalText([]byte(*vals["log-level"])); err != nil {
		return cfg, fmt.Errorf("%s: %q is not debug, info, warn or error", name("log-level"), *vals["log-level"])
	}
	switch cfg.LogFormat = *vals["log-format"]; cfg.LogFormat {
	case "text", "json":
	default:
		return cfg, fmt.Errorf("%s: %q is not text or json", name("log-format"), cfg.LogFormat)
	}
	if cfg.Demo, err = strconv.ParseBool(strings.TrimSpace(*vals["demo"])); err != nil {
		return cfg, fmt.Errorf("%s: %q is not true or false", name("demo"), *vals["demo"])
	}
	if cfg.Trust, err = parseTrust(*vals["trust"]); err != nil {
		return cfg, fmt.Errorf("%s: %w", name("trust"), err)
	}
	if cfg.RingTimeout, err = time.ParseDuration(strings.TrimSpace(*vals["ring-timeout"])); err != nil || cfg.RingTimeout < time.Second || cfg.RingTimeout > 10*time.Minute {
		return cfg, fmt.Errorf("%s: %q is not a duration from 1s to 10m (e.g. 30s)", name("ring-timeout"), *vals["ring-timeout"])
	}
	if cfg.RTPPorts, err = parsePortRange(*vals["rtp-ports"]); err != nil {
		return cfg, fmt.Errorf("%s: %w", name("rtp-ports"), err)
	}
	if cfg.MediaIP, err = mediaIP(*vals["media-ip"], cfg.SIP); err != nil {
		return cfg, fmt.Errorf("%s: %w", name("media-ip"), err)
	}
	if cfg.WebRTCPorts, err = parseWebRTCPorts(*vals["webrtc-ports"]); err != nil {
		return cfg, fmt.Errorf("%s: %w", name("webrtc-ports"), err)
	}
	if s := strings.TrimSpace(*vals["webrtc-nat-ip"]); s != "" {
		a, err := netip.ParseAddr(s)
		if err != nil || a.IsUnspecified() || a.IsMulticast() || a.IsLoopback() {
			return cfg, fmt.Errorf("%s: %q is not a unicast, non-loopback IP address", name("webrtc-nat-ip"), s)
		}
		cfg.WebRTCNATIP = a.String()
	}
	if cfg.WebRTCGrace, err = time.ParseDuration(strings.TrimSpace(*vals["webrtc-grace"])); err != nil || cfg.WebRTCGrace < time.Second || cfg.WebRTCGrace > 10*time.Minute {
		return cfg, fmt.Errorf("%s: %q is not a duration from 1s to 10m (e.g. 30s)", name("webrtc-grace"), *vals["webrtc-grace"])
	}
	if cfg.WebRTCMax, err = strconv.Atoi(strings.TrimSpace(*vals["webrtc-max-calls"])); err != nil || cfg.WebRTCMax < 1 || cfg.WebRTCMax > 100000 {
		return cfg, fmt.Errorf("%s: %q is not a number from 1 to 100000", name("webrtc-max-calls"), *vals["webrtc-max-calls"])
	}
	dialAllow := *vals["dial-allow"]
	if strings.TrimSpace(dialAllow) == "" && cfg.Demo && strings.TrimSpace(*vals["pbx"]) == "" {
		// The demo's simulated carrier calls nobody: its partners abroad may be dialled.
		dialAllow = "+1,+2,+3,+4,+5,+6,+7,+8,+9"
	}
	if cfg.DialPlan, err = switchboard.ParseDialAllow(cfg.Region, dialAllow); err != nil {
		return cfg, fmt.Errorf("%s: %w", name("dial-allow"), err)
	}
	if cfg.PBXRegister, err = strconv.ParseBool(strings.TrimSpace(*vals["pbx-register"])); err != nil {
		return cfg, fmt.Errorf("%s: %q is not true or false", name("pbx-register"), *vals["pbx-register"])
	}
	if err := parsePBX(&cfg, *vals["pbx"], *vals["pbx-user"], *vals["pbx-password"], name); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// parseSIPTLS checks the SIP TLS options together and loads the key
// pair; its errors name the option at fault.
func parseSIPTLS(cfg *serveConfig, addr, certFile, keyFile string, name func(string) string) error {
	addr, certFile, keyFile = strings.TrimSpace(addr), strings.TrimSpace(certFile), strings.TrimSpace(keyFile)
	switch {
	case certFile == "" && keyFile == "":
		if addr != "" {
			return fmt.Errorf("%s is set but %s is not: SIP over TLS needs a certificate", name("sip-tls"), name("sip-tls-cert"))
		}
		return nil
	case certFile == "":
		return fmt.Errorf("%s is set but %s is not: give both or neither", name("sip-tls-key"), name("sip-tls-cert"))
	case keyFile == "":
		return fmt.Errorf("%s is set but %s is not: give both or neither", name("sip-tls-cert"), name("sip-tls-key"))
	}
	if addr == "" {
		host, port, _ := net.SplitHostPort(cfg.SIP) // checked already
		p, _ := strconv.Atoi(port)
		switch {
		case p == 65535:
			return fmt.Errorf("%s: port 65535 of %s leaves no port + 1: set %s", name("sip-tls"), name("sip"), name("sip-tls"))
		case p != 0:
			p++
		}
		cfg.SIPTLS = net.JoinHostPort(host, strconv.Itoa(p))
	} else {
		var err error
		if cfg.SIPTLS, err = checkAddr(addr); err != nil {
			return fmt.Errorf("%s: %w", name("sip-tls"), err)
		}
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return fmt.Errorf("%s and %s: loading the key pair: %w", name("sip-tls-cert"), name("sip-tls-key"), err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return fmt.Errorf("%s: %w", name("sip-tls-cert"), err)
		}
	}
	if time.Now().After(cert.Leaf.NotAfter) {
		return fmt.Errorf("%s: the certificate expired on %s", name("sip-tls-cert"), cert.Leaf.NotAfter.UTC().Format(time.DateOnly))
	}
	cfg.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	return nil
}

// parsePBX checks the PBX options together; its errors name the option
// at fault and never show the password.
func parsePBX(cfg *serveConfig, uri, user, password string, name func(string) string) error {
	cfg.PBX, cfg.PBXUser, cfg.PBXPassword = strings.TrimSpace(uri), strings.TrimSpace(user), password
	switch {
	case cfg.PBX == "" && cfg.PBXUser != "":
		return fmt.Errorf("%s is set but %s is not: give the PBX's address too", name("pbx-user"), name("pbx"))
	case cfg.PBX == "" && cfg.PBXPassword != "":
		return fmt.Errorf("%s is set but %s is not: give the PBX's address too", name("pbx-password"), name("pbx"))
	case cfg.PBX == "":
		return nil
	case cfg.PBXUser != "" && cfg.PBXPassword == "":
		return fmt.Errorf("%s is set but %s is not: the PBX account needs its password", name("pbx-user"), name("pbx-password"))
	case cfg.PBXUser == "" && cfg.PBXPassword != "":
		return fmt.Errorf("%s is set but %s is not: give the PBX account the password is for", name("pbx-password"), name("pbx-user"))
	}
	if err := (sip.PBXRoute{URI: cfg.PBX}).Validate(); err != nil {
		return fmt.Errorf("%s: %w", name("pbx"), err)
	}
	if err := (sip.PBXRoute{URI: cfg.PBX, Username: cfg.PBXUser, Password: cfg.PBXPassword}).Validate(); err != nil {
		return fmt.Errorf("%s or %s: %w", name("pbx-user"), name("pbx-password"), err)
	}
	return nil
}

// parseTrust reads a comma-separated list of IP addresses and CIDRs.
func parseTrust(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if p, err := netip.ParsePrefix(item); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(item)
		if err != nil {
			return nil, fmt.Errorf("%q is not an IP address or CIDR", item)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// parsePortRange reads "MIN-MAX".
func parsePortRange(s string) (media.PortRange, error) {
	lo, hi, ok := strings.Cut(strings.TrimSpace(s), "-")
	a, err1 := strconv.ParseUint(strings.TrimSpace(lo), 10, 16)
	b, err2 := strconv.ParseUint(strings.TrimSpace(hi), 10, 16)
	if !ok || err1 != nil || err2 != nil {
		return media.PortRange{}, fmt.Errorf("%q is not a port range MIN-MAX", s)
	}
	r := media.PortRange{Min: uint16(a), Max: uint16(b)}
	if err := r.Validate(); err != nil {
		return media.PortRange{}, err
	}
	return r, nil
}

// parseWebRTCPorts reads MIN-MAX: any ports (ICE needs no pairs), at
// least 10 of them.
func parseWebRTCPorts(s string) (media.PortRange, error) {
	lo, hi, ok := strings.Cut(strings.TrimSpace(s), "-")
	a, err1 := strconv.ParseUint(strings.TrimSpace(lo), 10, 16)
	b, err2 := strconv.ParseUint(strings.TrimSpace(hi), 10, 16)
	if !ok || err1 != nil || err2 != nil || a < 1024 || b < a+9 {
		return media.PortRange{}, fmt.Errorf("%q is not a port range MIN-MAX of at least 10 ports above 1023", s)
	}
	return media.PortRange{Min: uint16(a), Max: uint16(b)}, nil
}

// mediaIP is the RTP address: the one given, or the SIP listener's.
func mediaIP(s, sipAddr string) (netip.Addr, error) {
	if s = strings.TrimSpace(s); s != "" {
		a, err := netip.ParseAddr(s)
		if err != nil || a.IsUnspecified() || a.IsMulticast() {
			return netip.Addr{}, fmt.Errorf("%q is not a unicast IP address", s)
		}
		return a, nil
	}
	host, _, _ := net.SplitHostPort(sipAddr)
	if a, err := netip.ParseAddr(host); err == nil && !a.IsUnspecified() {
		return a, nil
	}
	return netip.AddrFrom4([4]byte{127, 0, 0, 1}), nil
}

// checkAddr validates a host:port listen address.
func checkAddr(a string) (string, error) {
	host, port, err := net.SplitHostPort(strings.TrimSpace(a))
	if err != nil {
		return "", fmt.Errorf("%q is not host:port", a)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return "", fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	if host != "" && net.ParseIP(host) == nil && host != "localhost" {
		return "", fmt.Errorf("host %q is not an IP address (or localhost)", host)
	}
	return net.JoinHostPort(host, port), nil
}

func newLogger(cfg serveConfig, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
