package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// PBX mode: instead of (or beside) phones registering with phoned, phoned
// registers with a PBX, one registration per agent's extension or one for
// a trunk account, so that the PBX sends those calls to phoned. Each
// registration is a loop of its own (registerLoop): REGISTER with digest
// auth, refresh at about 80% of the time granted, backoff with jitter
// while the PBX fails, and un-REGISTER when it ends.

// ErrPBXServed is returned by [PBXRegistrar.Serve] when it has served
// already: its registrations have been withdrawn.
var ErrPBXServed = errors.New("PBX registrar already served")

// PBXConfig configures the registrations with a PBX. Every zero field
// takes the default noted beside it, set in one place (withDefaults).
type PBXConfig struct {
	// URI is the PBX's registrar: sip:host[:port][;transport=udp|tcp]
	// (port 5060 and UDP by default). Required.
	URI string
	// Accounts are registered, each on its own. At least one.
	Accounts []PBXAccount
	// Expires is the lifetime asked for (default 300 s, whole seconds).
	// The PBX may grant another; the grant rules the refresh.
	Expires time.Duration
	// RetryMin and RetryMax bound the wait after a failure: about
	// RetryMin after the first, doubling up to RetryMax (default 1 s and
	// 60 s), each wait drawn between its half and its whole so that
	// registrations that failed together do not retry together.
	RetryMin, RetryMax time.Duration
	// Timeout bounds one REGISTER with its digest round (default 10 s;
	// a SIP client transaction would otherwise wait 32 s).
	Timeout time.Duration
	// UnregisterTimeout bounds the un-REGISTER when Serve ends (default
	// 2 s): shutting down must not wait on a PBX that is down.
	UnregisterTimeout time.Duration
	// ContactHost is the host of the Contact registered, where the PBX
	// sends calls (default: the SIP server's bound address or, when it
	// is unspecified, the local address that routes to the PBX). Set it
	// when the PBX reaches phoned at another address (NAT).
	ContactHost string
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// PBXAccount is one registration with the PBX.
type PBXAccount struct {
	// Extension is the user of the Contact registered: the PBX sends this
	// account's calls to sip:<Extension>@phoned, which tells phoned whose
	// they are (default: Username).
	Extension string
	// Username is the account at the PBX: the user of To and From and of
	// the digest answer (default: Extension).
	Username string
	// Password is the digest secret. It is never logged nor shown.
	Password string
}

// PBXRegState is where one registration stands.
type PBXRegState string

// The states of a registration.
const (
	// PBXRegistering: no answer yet from the PBX.
	PBXRegistering PBXRegState = "registering"
	// PBXRegistered: the PBX granted the binding; a refresh comes at
	// NextAttempt, before ExpiresAt.
	PBXRegistered PBXRegState = "registered"
	// PBXFailed: the last attempt failed (LastError, LastStatus); the
	// next comes at NextAttempt.
	PBXFailed PBXRegState = "failed"
	// PBXUnregistered: Serve has ended and the binding was withdrawn
	// (LastError says when the un-REGISTER failed).
	PBXUnregistered PBXRegState = "unregistered"
)

func (s PBXRegState) String() string { return string(s) }

// PBXState is one registration as [PBXRegistrar.States] reports it.
type PBXState struct {
	Extension string
	Username  string
	State     PBXRegState
	// LastError says why the last attempt failed ("" after a success).
	// It never holds the password.
	LastError string
	// LastStatus is the last final SIP status from the PBX (0: none yet,
	// or the last attempt got no answer).
	LastStatus int
	// ExpiresAt is when the binding granted last ends (zero: none).
	ExpiresAt time.Time
	// NextAttempt is when the next REGISTER goes (zero: none planned).
	NextAttempt time.Time
}

// PBXRegistrar keeps phoned registered with a PBX. Create it with
// NewPBXRegistrar, run it with Serve (once), read it with States.
type PBXRegistrar struct {
	cfg       PBXConfig
	registrar gosip.Uri // the Request-URI of every REGISTER
	domain    string    // the host of To and From (the digest realm, usually)
	transport string    // "UDP" or "TCP"
	srv       *Server
	log       *slog.Logger
	jitter    func() float64 // in [0, 1); tests replace it
	observe   func(PBXState) // tests: sees every update, nil otherwise
	served    atomic.Bool

	resync chan []PBXAccount // SetAccounts while serving: the newest list

	mu     sync.Mutex  // guards the following
	states []*PBXState // one per account, in the order they came
}

// NewPBXRegistrar checks cfg and returns a registrar that registers
// through srv (its client, from its listeners' address). Nothing is sent
// before Serve.
func NewPBXRegistrar(cfg PBXConfig, srv *Server, log *slog.Logger) (*PBXRegistrar, error) {
	if srv == nil {
		return nil, fmt.Errorf("%w: PBX registrar without a SIP server", ErrInvalidConfig)
	}
	cfg, registrar, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &PBXRegistrar{
		cfg:       cfg,
		registrar: registrar,
		domain:    registrar.Host,
		transport: "UDP",
		srv:       srv,
		log:       log.With("component", "pbx", "pbx", cfg.URI),
		jitter:    rand.Float64,
		resync:    make(chan []PBXAccount, 1),
	}
	if t, _ := registrar.UriParams.Get("transport"); strings.EqualFold(t, "tcp") {
		r.transport = "TCP"
	}
	for _, a := range cfg.Accounts {
		r.states = append(r.states, &PBXState{Extension: a.Extension, Username: a.Username, State: PBXRegistering})
	}
	return r, nil
}

// withDefaults returns c with its defaults and the parsed URI, or an
// error naming the first field that cannot work.
func (c PBXConfig) withDefaults() (PBXConfig, gosip.Uri, error) {
	bad := func(format string, args ...any) (PBXConfig, gosip.Uri, error) {
		return PBXConfig{}, gosip.Uri{}, fmt.Errorf("%w: PBX "+format, append([]any{ErrInvalidConfig}, args...)...)
	}
	uri, err := parsePBXURI(c.URI)
	if err != nil {
		return bad("URI %q: %v", c.URI, err)
	}
	accounts, err := normalizeAccounts(c.Accounts)
	if err != nil {
		return bad("%v", err)
	}
	c.Accounts = accounts
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"Expires", &c.Expires, 300 * time.Second},
		{"RetryMin", &c.RetryMin, time.Second},
		{"RetryMax", &c.RetryMax, time.Minute},
		{"Timeout", &c.Timeout, 10 * time.Second},
		{"UnregisterTimeout", &c.UnregisterTimeout, 2 * time.Second},
	} {
		if *d.v == 0 {
			*d.v = d.def
		}
		if *d.v < 0 {
			return bad("%s %v is negative", d.name, *d.v)
		}
	}
	c.Expires = c.Expires.Truncate(time.Second)
	if c.Expires < time.Second || c.Expires > maxExpires {
		return bad("Expires %v is outside 1 s .. %v", c.Expires, maxExpires)
	}
	if c.RetryMin > c.RetryMax {
		return bad("RetryMin %v is above RetryMax %v", c.RetryMin, c.RetryMax)
	}
	if c.ContactHost != "" {
		if _, err := netip.ParseAddr(c.ContactHost); err != nil && CheckDialString(c.ContactHost) != nil {
			return bad("ContactHost %q is neither an IP address nor a host name", c.ContactHost)
		}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, uri, nil
}

// normalizeAccounts fills each account's defaults and checks them: a
// valid extension and username, no control character in the password,
// none listed twice. No account is fine: agents may come later
// (SetAccounts).
func normalizeAccounts(in []PBXAccount) ([]PBXAccount, error) {
	accounts := make([]PBXAccount, len(in))
	users, exts := map[string]bool{}, map[string]bool{}
	for i, a := range in {
		if a.Extension == "" {
			a.Extension = a.Username
		}
		if a.Username == "" {
			a.Username = a.Extension
		}
		if err := CheckDialString(a.Extension); err != nil {
			return nil, fmt.Errorf("account %d: extension: %v", i+1, err)
		}
		if err := CheckDialString(a.Username); err != nil {
			return nil, fmt.Errorf("account %d: username: %v", i+1, err)
		}
		// The password only enters a hash, but one with a line break is
		// a mistake of the configuration, best said at once.
		if hasControl(a.Password) {
			return nil, fmt.Errorf("account %q: the password has a control character (CR, LF...)", a.Username)
		}
		if users[a.Username] || exts[a.Extension] {
			return nil, fmt.Errorf("account %q (extension %q) is listed twice", a.Username, a.Extension)
		}
		users[a.Username], exts[a.Extension] = true, true
		accounts[i] = a
	}
	return accounts, nil
}

// maxExpires is the largest expiry SIP can say (2^32-1 s).
const maxExpires = (1<<32 - 1) * time.Second

// parsePBXURI reads sip:host[:port][;transport=udp|tcp].
func parsePBXURI(s string) (gosip.Uri, error) {
	var u gosip.Uri
	if s == "" {
		return u, errors.New("empty")
	}
	if hasControl(s) || strings.ContainsAny(s, " \t<>\"") {
		return u, errors.New("has a space, control character, quote or angle bracket")
	}
	if err := gosip.ParseUri(s, &u); err != nil {
		return u, err
	}
	switch {
	case u.Scheme == "sips":
		return u, errors.New("sips is not supported (phoned has no TLS client)")
	case u.Scheme != "sip":
		return u, errors.New("not a sip: URI")
	case u.User != "" || u.Password != "":
		return u, errors.New("has a user part; give the registrar's host only (accounts go in the credentials)")
	case u.Host == "":
		return u, errors.New("no host")
	case u.Port < 0 || u.Port > 65535:
		return u, errors.New("port out of range")
	case u.Headers.Length() > 0:
		return u, errors.New("has headers")
	}
	for _, kv := range u.UriParams {
		switch {
		case kv.K == "transport" && (strings.EqualFold(kv.V, "udp") || strings.EqualFold(kv.V, "tcp")):
		case kv.K == "transport":
			return u, fmt.Errorf("transport %q is not udp or tcp", kv.V)
		default:
			return u, fmt.Errorf("unknown parameter %q", kv.K)
		}
	}
	return u, nil
}

// Serve waits for the SIP server's listeners, then keeps every account
// registered, each in a goroutine of its own, until ctx ends. Then each
// withdraws its binding (un-REGISTER, bounded by UnregisterTimeout) and
// Serve returns once all have ended.
//
// The SIP server must still serve while Serve returns: end the
// registrar's ctx first, the server's after Serve has returned, or the
// un-REGISTERs cannot go out (they are skipped when the server stops).
func (r *PBXRegistrar) Serve(ctx context.Context) error {
	if !r.served.CompareAndSwap(false, true) {
		return ErrPBXServed
	}
	select {
	case <-r.srv.Ready():
	case <-ctx.Done():
		r.mu.Lock()
		for _, s := range r.states {
			s.State = PBXUnregistered
		}
		r.mu.Unlock()
		return nil
	}
	if r.transport == "UDP" {
		r.srv.waitUDPListener(ctx)
	}
	lines := map[string]*lineRun{}
	r.mu.Lock()
	for k, acct := range r.cfg.Accounts {
		lines[acct.Username] = r.startLine(ctx, acct, r.states[k])
	}
	r.mu.Unlock()
	for {
		select {
		case <-ctx.Done():
			for _, l := range lines {
				<-l.done
			}
			return nil
		case accounts := <-r.resync:
			r.apply(ctx, lines, accounts)
		}
	}
}

// lineRun is one account's registration loop while Serve runs.
type lineRun struct {
	acct   PBXAccount
	st     *PBXState
	cancel context.CancelFunc
	done   chan struct{}
}

// startLine starts registering acct, its state in st. r.mu is held.
func (r *PBXRegistrar) startLine(ctx context.Context, acct PBXAccount, st *PBXState) *lineRun {
	lctx, cancel := context.WithCancel(ctx)
	run := &lineRun{acct: acct, st: st, cancel: cancel, done: make(chan struct{})}
	l := &pbxLine{r: r, st: st, acct: acct, callID: gosip.GenerateTagN(24) + "@phoned", fromTag: gosip.GenerateTagN(16), expires: r.cfg.Expires}
	go func() {
		defer close(run.done)
		l.registerLoop(lctx)
	}()
	return run
}

// SetAccounts replaces the accounts registered: new ones register, gone
// ones un-register, changed ones (password, extension) register afresh.
// Before Serve it only sets them. It is safe for concurrent use.
func (r *PBXRegistrar) SetAccounts(accounts []PBXAccount) error {
	accounts, err := normalizeAccounts(accounts)
	if err != nil {
		return fmt.Errorf("%w: PBX %v", ErrInvalidConfig, err)
	}
	if !r.served.Load() {
		r.mu.Lock()
		if !r.served.Load() {
			r.cfg.Accounts = accounts
			r.states = r.states[:0]
			for _, a := range accounts {
				r.states = append(r.states, &PBXState{Extension: a.Extension, Username: a.Username, State: PBXRegistering})
			}
			r.mu.Unlock()
			return nil
		}
		r.mu.Unlock()
	}
	for {
		select {
		case r.resync <- accounts:
			return nil
		default:
			select { // a list not applied yet: the newest wins
			case <-r.resync:
			default:
			}
		}
	}
}

// apply moves the running lines to accounts, on Serve's goroutine.
func (r *PBXRegistrar) apply(ctx context.Context, lines map[string]*lineRun, accounts []PBXAccount) {
	want := map[string]PBXAccount{}
	for _, a := range accounts {
		want[a.Username] = a
	}
	for user, l := range lines {
		if a, ok := want[user]; ok && a == l.acct {
			continue
		}
		// Gone or changed: withdraw the binding first (a new REGISTER
		// of the same Contact must not be undone by it).
		l.cancel()
		<-l.done
		delete(lines, user)
		r.mu.Lock()
		for k, s := range r.states {
			if s == l.st {
				r.states = append(r.states[:k], r.states[k+1:]...)
				break
			}
		}
		r.mu.Unlock()
		r.log.Info("PBX account withdrawn", "user", user)
	}
	for _, a := range accounts {
		if _, ok := lines[a.Username]; ok {
			continue
		}
		st := &PBXState{Extension: a.Extension, Username: a.Username, State: PBXRegistering}
		r.mu.Lock()
		r.states = append(r.states, st)
		lines[a.Username] = r.startLine(ctx, a, st)
		r.mu.Unlock()
		r.log.Info("PBX account added", "user", a.Username)
	}
}

// States returns the state of every registration, in the order of
// PBXConfig.Accounts. It is safe for concurrent use.
func (r *PBXRegistrar) States() []PBXState {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]PBXState, len(r.states))
	for k, s := range r.states {
		out[k] = *s
	}
	return out
}

// update changes registration i and logs it when its state or status
// changed: once per change, not on every refresh or retry.
func (r *PBXRegistrar) update(st *PBXState, change func(*PBXState)) {
	r.mu.Lock()
	old := *st
	change(st)
	now := *st
	r.mu.Unlock()
	if r.observe != nil {
		r.observe(now)
	}

	log := r.log.With("extension", now.Extension, "user", now.Username)
	switch {
	case old.State == now.State && old.LastStatus == now.LastStatus:
		log.Debug("PBX registration", "state", now.State, "status", now.LastStatus, "err", now.LastError, "next", now.NextAttempt)
	case now.State == PBXRegistered:
		log.Info("registered with the PBX", "expires", now.ExpiresAt)
	case now.State == PBXFailed:
		log.Warn("PBX registration failed", "status", now.LastStatus, "err", now.LastError, "retry", now.NextAttempt)
	case now.State == PBXUnregistered && now.LastError != "":
		log.Warn("PBX un-REGISTER failed", "status", now.LastStatus, "err", now.LastError)
	default:
		log.Info("PBX registration", "state", now.State)
	}
}

// PBXAccountsFor builds the PBX accounts of extensions from dir: each
// registers with its own SIP password. Extensions whose account is
// inactive, has no password or does not exist are left out and listed in
// skipped.
func PBXAccountsFor(ctx context.Context, dir Directory, extensions []string) (accounts []PBXAccount, skipped []string, err error) {
	for _, ext := range extensions {
		a, err := dir.SIPAccount(ctx, ext)
		switch {
		case errors.Is(err, ErrUnknownAccount):
			skipped = append(skipped, ext)
			continue
		case err != nil:
			return nil, nil, fmt.Errorf("read the SIP account of extension %q: %w", ext, err)
		case !a.Active || a.Password == "":
			skipped = append(skipped, ext)
			continue
		}
		accounts = append(accounts, PBXAccount{Extension: a.Extension, Username: a.Extension, Password: a.Password})
	}
	return accounts, skipped, nil
}
