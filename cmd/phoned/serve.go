package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"text/tabwriter"
	"time"

	"golang.org/x/sync/errgroup"

	"phoned/api"
	"phoned/auth"
	"phoned/crm"
	"phoned/demo"
	"phoned/media"
	"phoned/sip"
	"phoned/store"
	"phoned/switchboard"
	"phoned/webphone"
)

// serve runs the daemon until ctx ends, then shuts down gracefully.
func serve(ctx context.Context, cfg serveConfig, stdout, stderr io.Writer) error {
	log := newLogger(cfg, stderr)
	// Listen first, so a taken port fails the start at once, before the
	// database is touched: a first admin created by a start that then
	// fails would have its one-time password scroll by with the error.
	ln, err := net.Listen("tcp", cfg.HTTP)
	if err != nil {
		return fmt.Errorf("--http %s: %w", cfg.HTTP, err)
	}
	defer ln.Close() // for the returns before Serve, which closes it itself
	st, err := store.Open(ctx, cfg.DB, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	// Calls do not survive the process: an event still in progress was
	// left by a daemon that died mid-call.
	if n, err := st.CloseInterruptedEvents(ctx, time.Now()); err != nil {
		return fmt.Errorf("close interrupted events: %w", err)
	} else if n > 0 {
		log.Warn("closed communication events left in progress by an earlier run as interrupted", "events", n)
	}

	srv := api.New(api.Config{DefaultZone: cfg.TZ, Region: cfg.Region}, st, log)
	web := webphone.Handler()
	srv.Handle("GET /{$}", web)
	srv.Handle("GET /static/", web)
	demoUsers := false // the demo logins exist, so planning for them and printing them make sense
	if cfg.Demo {
		seeded, err := demo.Seed(ctx, st, cfg.Region)
		if err != nil {
			return err
		}
		if !seeded {
			log.Info("demo: the database already has users; not seeding it again", "db", cfg.DB)
		}
		// A database that a plain start created has an "admin" too, but
		// not the demo agents: serve it as it is.
		if demoUsers, err = hasDemoUsers(ctx, st); err != nil {
			return err
		}
		if demoUsers {
			n, err := demo.PlanToday(ctx, st, srv, time.Now(), cfg.TZ)
			if err != nil {
				return err
			}
			log.Info("demo: today's queues planned", "calls", n)
		} else {
			log.Warn("demo: the database was not seeded by --demo; not planning demo queues", "db", cfg.DB)
		}
	} else if err := firstAdmin(ctx, st, stdout, log); err != nil {
		return err
	}

	httpSrv := &http.Server{
		Handler: srv.Handler(),
		// Slow or stuck clients must not hold connections for ever; bodies
		// (a CSV import) get a minute, idle keep-alives two.
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// SIP: the server (listeners, registrar, trust gate), the call engine,
	// and the adapter between them, which each needs.
	calls := sip.NewCalls(log, st, st)
	if cfg.PBX != "" {
		if err := calls.SetPBX(sip.PBXRoute{URI: cfg.PBX, Username: cfg.PBXUser, Password: cfg.PBXPassword}); err != nil {
			return fmt.Errorf("--pbx: %w", err)
		}
	}
	sipSrv, err := sip.New(sip.Config{Listen: cfg.SIP, TLS: cfg.TLS, TLSListen: cfg.SIPTLS, Trust: cfg.Trust}, sip.Deps{Log: log, Directory: st, Bindings: st, Inbound: calls})
	if err != nil {
		return fmt.Errorf("--sip: %w", err)
	}
	ports, err := media.NewPortAllocator(cfg.RTPPorts)
	if err != nil {
		return fmt.Errorf("--rtp-ports: %w", err)
	}
	// The browser phone: the widget's signalling and WebRTC legs, one more
	// kind of device of the agents' extensions.
	phone, err := webphone.New(webphone.Config{Grace: cfg.WebRTCGrace, PortMin: cfg.WebRTCPorts.Min, PortMax: cfg.WebRTCPorts.Max, IP: cfg.MediaIP, NAT1To1IP: cfg.WebRTCNATIP, MaxCallsPerAgent: cfg.WebRTCMax},
		webphone.Deps{Log: log, Sessions: srv, Outbound: outboundFor(srv), FindPartner: findPartner(st, cfg.Region), QueueVersion: st.CallsVersion})
	if err != nil {
		return fmt.Errorf("webrtc: %w", err)
	}
	srv.Handle("GET /ws", phone)
	var sipDialer switchboard.Dialer = calls
	if cfg.Demo && cfg.PBX == "" {
		// No PBX: outside numbers reach a simulated party that answers and
		// echoes, so the demo's queue can be worked on a laptop.
		carrier := demo.NewCarrier(calls, cfg.MediaIP, log)
		defer carrier.Close()
		sipDialer = carrier
		log.Info("demo: no --pbx: calls to outside numbers go to a simulated party that answers and echoes your voice")
	}
	engine := switchboard.New(switchboard.Config{RingTimeout: cfg.RingTimeout, MediaIP: cfg.MediaIP, Region: cfg.Region, DialPlan: cfg.DialPlan},
		switchboard.Deps{Log: log, Agents: phone.Agents(calls), Events: st, Dialer: phone.Dialer(sipDialer), Ports: ports, Watch: phone.Watch, OnDTMF: phone.OnDTMF})
	calls.Attach(sipSrv, engine)
	srv.SetCalls(engine)
	phone.SetEngine(engine)
	var pbxReg *sip.PBXRegistrar
	if cfg.PBX != "" && cfg.PBXRegister {
		accounts, err := pbxAccounts(ctx, st, cfg, log)
		if err != nil {
			return err
		}
		if pbxReg, err = sip.NewPBXRegistrar(sip.PBXConfig{URI: cfg.PBX, Accounts: accounts}, sipSrv, log); err != nil {
			return fmt.Errorf("--pbx: %w", err)
		}
		srv.SetPBX(pbxReg)
	}

	g, gctx := errgroup.WithContext(ctx)
	// The SIP server outlives the parts that send through it, so calls
	// ended at shutdown still get their BYE and registrations their
	// un-REGISTER.
	sipCtx, stopSIP := context.WithCancel(context.WithoutCancel(gctx))
	defer stopSIP()
	var sipUsers sync.WaitGroup
	sipUsers.Add(1)
	g.Go(func() error {
		defer sipUsers.Done()
		return engine.Serve(gctx, 0)
	})
	g.Go(func() error { return phone.Serve(gctx) })
	if pbxReg != nil {
		sipUsers.Add(1)
		g.Go(func() error {
			defer sipUsers.Done()
			return pbxReg.Serve(gctx)
		})
		if cfg.PBXUser == "" {
			g.Go(func() error { return followAgents(gctx, st, cfg, pbxReg, log) })
		}
	}
	g.Go(func() error {
		sipUsers.Wait()
		stopSIP()
		return nil
	})
	g.Go(func() error {
		if err := sipSrv.Serve(sipCtx); err != nil {
			return fmt.Errorf("--sip %s: %w", cfg.SIP, err)
		}
		return nil
	})
	select {
	case <-sipSrv.Ready():
	case <-gctx.Done():
		ln.Close()
		return g.Wait()
	}

	url := "http://" + ln.Addr().String() + "/"
	fmt.Fprintf(stdout, "phoned is running: web and API at %s (SIP address %s)\n", url, sipSrv.Addr())
	if demoUsers {
		printDemoLogins(stdout, url, cfg.PBX == "")
	}
	log.Info("serving", "http", ln.Addr().String(), "sip", sipSrv.Addr().String(), "db", cfg.DB, "tz", cfg.TZ.String(), "region", cfg.Region,
		"trusted", len(cfg.Trust), "dial_allow", cfg.DialPlan.String(), "pbx", cfg.PBX, "pbx_user", cfg.PBXUser)

	g.Go(func() error {
		if err := httpSrv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("http server: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		log.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.WithoutCancel(gctx), 10*time.Second)
		defer cancel()
		return httpSrv.Shutdown(sctx)
	})
	g.Go(func() error { return sessionJanitor(gctx, st, log) })
	err = g.Wait()
	log.Info("stopped")
	return err
}

// pbxAccounts are the accounts phoned registers with the PBX: the trunk
// user when given, else every active agent's extension with its own SIP
// password.
func pbxAccounts(ctx context.Context, st *store.Store, cfg serveConfig, log *slog.Logger) ([]sip.PBXAccount, error) {
	if cfg.PBXUser != "" {
		return []sip.PBXAccount{{Username: cfg.PBXUser, Password: cfg.PBXPassword}}, nil
	}
	users, err := st.Users(ctx)
	if err != nil {
		return nil, err
	}
	var exts []string
	for _, u := range users {
		if u.Active && u.Extension != "" {
			exts = append(exts, u.Extension)
		}
	}
	accounts, skipped, err := sip.PBXAccountsFor(ctx, st, exts)
	if err != nil {
		return nil, err
	}
	if len(skipped) > 0 && log != nil {
		log.Warn("PBX mode: extensions without a SIP password are not registered", "extensions", skipped)
	}
	if len(accounts) == 0 && log != nil {
		log.Warn("PBX mode: no active agent has an extension with a SIP password yet; they register as they are added (or give --pbx-user)")
	}
	return accounts, nil
}

// followAgents keeps the PBX registrations in step with the agents: an
// agent added, given an extension or a SIP password, deactivated or
// removed while phoned runs is registered or withdrawn within
// agentsPoll. It returns when ctx ends.
func followAgents(ctx context.Context, st *store.Store, cfg serveConfig, reg *sip.PBXRegistrar, log *slog.Logger) error {
	t := time.NewTicker(agentsPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		accounts, err := pbxAccounts(ctx, st, cfg, nil)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("PBX mode: reading the agents' accounts", "err", err)
			}
			continue
		}
		if err := reg.SetAccounts(accounts); err != nil {
			log.Warn("PBX mode: an agent's account cannot be registered", "err", err)
		}
	}
}

// agentsPoll is how often PBX mode re-reads the agents' accounts.
const agentsPoll = 3 * time.Second

// sessionJanitor deletes expired sessions every hour until ctx ends.
func sessionJanitor(ctx context.Context, st *store.Store, log *slog.Logger) error {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if n, err := st.DeleteExpiredSessions(ctx); err != nil {
				log.Warn("deleting expired sessions", "err", err)
			} else if n > 0 {
				log.Debug("expired sessions deleted", "count", n)
			}
		}
	}
}

// firstAdmin creates an admin with a random one-time password when the
// database has no user, and prints the password once (never to the log).
func firstAdmin(ctx context.Context, st *store.Store, stdout io.Writer, log *slog.Logger) error {
	n, err := st.CountUsers(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	pw := auth.NewPassword()
	nu := store.NewUser{User: auth.User{Login: "admin", Name: "Administrator", Role: auth.RoleAdmin, Active: true}, PasswordHash: auth.HashPassword(pw)}
	if err := st.CreateUser(ctx, &nu); err != nil {
		return fmt.Errorf("create the first admin: %w", err)
	}
	log.Info("empty database: created the first admin user", "login", "admin")
	fmt.Fprintf(stdout, "first start: created user \"admin\" with the one-time password %s\n"+
		"log in and change it (PATCH /api/users/%d {\"password\": ...}); it is not shown again\n", pw, nu.ID)
	return nil
}

// hasDemoUsers reports whether every demo login is a user of the database.
func hasDemoUsers(ctx context.Context, st *store.Store) (bool, error) {
	for _, l := range demo.Logins {
		if _, err := st.UserByLogin(ctx, l.Login); errors.Is(err, store.ErrNotFound) {
			return false, nil
		} else if err != nil {
			return false, err
		}
	}
	return true, nil
}

func printDemoLogins(w io.Writer, url string, carrier bool) {
	fmt.Fprintf(w, "demo mode: open %s and log in as one of these (demo passwords: keep this on your own machine)\n", url)
	defer func() {
		fmt.Fprintln(w, "agents call from the browser (Next activities → Call); a softphone may register as 101 or 102 to call them")
		if carrier {
			fmt.Fprintln(w, "no --pbx: calls to partners reach a simulated party that answers after 2 s and echoes your voice")
		}
	}()
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  login\tpassword\trole\textension\tSIP password")
	for _, l := range demo.Logins {
		ext, sip := l.Extension, l.SIPPassword
		if ext == "" {
			ext, sip = "-", "-"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", l.Login, l.Password, l.Role, ext, sip)
	}
	tw.Flush()
}

// outboundFor lets the browser phone check dial requests by the API's
// rules.
func outboundFor(srv *api.Server) func(context.Context, auth.Principal, webphone.DialTarget) (switchboard.OutboundRequest, error) {
	return func(ctx context.Context, p auth.Principal, t webphone.DialTarget) (switchboard.OutboundRequest, error) {
		return srv.OutboundFor(ctx, p, api.DialTarget{CallID: t.CallID, PartnerID: t.PartnerID, Number: t.Number})
	}
}

// findPartner finds the partner with a number, whatever its form.
func findPartner(st *store.Store, region string) func(context.Context, string) (*crm.Partner, error) {
	return func(ctx context.Context, number string) (*crm.Partner, error) {
		forms := crm.LookupForms(number, region)
		if len(forms) == 0 {
			return nil, nil
		}
		ps, err := st.Partners(ctx, store.PartnerFilter{E164: forms, Limit: 1})
		if err != nil || len(ps) == 0 {
			return nil, err
		}
		return &ps[0], nil
	}
}
