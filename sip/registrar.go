package sip

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// maxUserAgent bounds the User-Agent kept with a binding.
const maxUserAgent = 200

// handleRegister is the registrar (RFC 3261 §10.3). The To user is the
// extension; the device must prove its account's password (401
// challenge). Then each Contact is saved with its expiry (the contact's
// expires parameter, else the Expires header, else DefaultExpires; cut to
// MaxExpires; 423 below MinExpires), removed when its expiry is 0, or all
// are removed with "Contact: *" and "Expires: 0". The 200 lists the
// extension's live contacts with their remaining time.
//
// Trust does not apply: a REGISTER from the PBX's address authenticates
// too. An unknown extension is challenged like a known one and refused
// (403, counted as a failure) once credentials come; a To user that is no
// dial string at all is refused at once (400).
func (s *Server) handleRegister(ctx context.Context, req *gosip.Request, tx gosip.ServerTransaction) {
	src, _ := sourceOf(req) // checked by checkRequest
	ext := req.To().Address.User
	if err := CheckDialString(ext); err != nil {
		s.respond(tx, req, 400, "Bad To User")
		return
	}
	acct, ok := s.authenticate(ctx, req, tx, registrarAuth, ext, src.Addr())
	if !ok {
		return
	}
	ext = acct.Extension

	reg, refused := s.readRegister(req)
	if refused != nil {
		s.respond(tx, req, refused.Code, refused.Reason, refused.Headers...)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	now := s.cfg.Now()
	if err := s.applyRegister(ctx, req, acct, reg, now); err != nil {
		if e := (*sipError)(nil); errors.As(err, &e) {
			s.respond(tx, req, e.Code, e.Reason, e.Headers...)
			return
		}
		s.log.Error("saving SIP bindings", "extension", ext, "err", err)
		s.respond(tx, req, 500, "Server Internal Error")
		return
	}
	live, err := s.bindings.SIPBindings(ctx, ext, now)
	if err != nil {
		s.log.Error("listing SIP bindings", "extension", ext, "err", err)
		s.respond(tx, req, 500, "Server Internal Error")
		return
	}
	headers := []gosip.Header{gosip.NewHeader("Date", now.UTC().Format(http.TimeFormat))}
	for _, b := range live {
		left := int64(math.Ceil(b.ExpiresAt.Sub(now).Seconds()))
		headers = append(headers, gosip.NewHeader("Contact", "<"+b.Contact+">;expires="+strconv.FormatInt(max(left, 1), 10)))
	}
	s.log.Debug("SIP REGISTER", "extension", ext, "source", src.String(), "contacts", len(reg.contacts), "wildcard", reg.wildcard, "bindings", len(live))
	s.respond(tx, req, 200, "OK", headers...)
}

// register is what a REGISTER asks for.
type register struct {
	wildcard bool             // "Contact: *" with Expires 0: remove all
	contacts []contactRequest // empty and not wildcard: a query
}

type contactRequest struct {
	contact string        // the URI, the binding's key
	expires time.Duration // 0: remove
}

func badRequest(reason string) *sipError { return &sipError{Code: 400, Reason: reason} }

// readRegister reads the Contact and Expires headers of req.
func (s *Server) readRegister(req *gosip.Request) (register, *sipError) {
	var reg register
	headerExpires, hasExpires, err := parseExpires(headerValue(req, "Expires"))
	if err != nil {
		return reg, badRequest("Bad Expires")
	}
	contacts := req.GetHeaders("Contact")
	for _, h := range contacts {
		c, ok := h.(*gosip.ContactHeader)
		if !ok {
			return reg, badRequest("Bad Contact")
		}
		if c.Address.Wildcard {
			// RFC 3261 §10.2.2: "*" only alone and with Expires: 0.
			if len(contacts) != 1 || !hasExpires || headerExpires != 0 {
				return reg, badRequest("Wildcard Contact Needs Expires 0")
			}
			reg.wildcard = true
			return reg, nil
		}
		if c.Address.Scheme != "sip" && c.Address.Scheme != "sips" || c.Address.Host == "" || c.Address.Headers.Length() > 0 {
			return reg, badRequest("Bad Contact URI")
		}
		uri := c.Address.String()
		if hasControl(uri) || len(uri) > 512 {
			return reg, badRequest("Bad Contact URI")
		}
		exp := time.Duration(-1)
		if v, ok := c.Params.Get("expires"); ok {
			e, has, err := parseExpires(v)
			if err != nil || !has {
				return reg, badRequest("Bad Contact Expires")
			}
			exp = e
		} else if hasExpires {
			exp = headerExpires
		} else {
			exp = s.cfg.DefaultExpires
		}
		if exp > 0 && exp < s.cfg.MinExpires {
			return reg, &sipError{Code: 423, Reason: "Interval Too Brief",
				Headers: []gosip.Header{gosip.NewHeader("Min-Expires", strconv.Itoa(int(s.cfg.MinExpires/time.Second)))}}
		}
		reg.contacts = append(reg.contacts, contactRequest{contact: uri, expires: min(exp, s.cfg.MaxExpires)})
	}
	return reg, nil
}

// applyRegister saves and removes the bindings reg asks for. A REGISTER
// older (same Call-ID, lower or equal CSeq) than the one that saved a
// binding changes nothing (RFC 3261 §10.3 step 7).
func (s *Server) applyRegister(ctx context.Context, req *gosip.Request, acct Account, reg register, now time.Time) error {
	if reg.wildcard {
		return s.bindings.RemoveSIPBindings(ctx, acct.Extension)
	}
	if len(reg.contacts) == 0 {
		return nil
	}
	existing, err := s.bindings.SIPBindings(ctx, acct.Extension, now)
	if err != nil {
		return err
	}
	byContact := make(map[string]Binding, len(existing))
	for _, b := range existing {
		byContact[b.Contact] = b
	}
	callID, cseq := req.CallID().Value(), req.CSeq().SeqNo
	for _, c := range reg.contacts {
		if old, ok := byContact[c.contact]; ok && old.CallID == callID && cseq <= old.CSeq {
			return &sipError{Code: 400, Reason: "CSeq Out Of Order"}
		}
	}
	src, _ := sourceOf(req)
	for _, c := range reg.contacts {
		if c.expires == 0 {
			if err := s.bindings.RemoveSIPBinding(ctx, acct.Extension, c.contact); err != nil {
				return err
			}
			continue
		}
		b := Binding{
			Extension: acct.Extension,
			UserID:    acct.UserID,
			Contact:   c.contact,
			Received:  src.String(),
			Transport: transportOf(req),
			UserAgent: cleanUserAgent(headerValue(req, "User-Agent")),
			CallID:    callID,
			CSeq:      cseq,
			ExpiresAt: now.Add(c.expires),
			UpdatedAt: now,
		}
		if err := s.bindings.SaveSIPBinding(ctx, b); err != nil {
			return err
		}
	}
	return nil
}

// parseExpires reads a delta-seconds value; has is false for "". Values
// past 2^32-1 seconds are taken as that (RFC 3261 §20.19); Config cuts
// them to MaxExpires anyway.
func parseExpires(v string) (d time.Duration, has bool, err error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false, nil
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, true, fmt.Errorf("expires %q is not a number of seconds", v)
		}
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		n = math.MaxUint32
	}
	return time.Duration(n) * time.Second, true, nil
}

func headerValue(req *gosip.Request, name string) string {
	if h := req.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}

// cleanUserAgent keeps a device's User-Agent fit to store and show.
func cleanUserAgent(ua string) string {
	ua = strings.ToValidUTF8(ua, "?")
	ua = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, ua)
	if len(ua) > maxUserAgent {
		ua = strings.ToValidUTF8(ua[:maxUserAgent], "")
	}
	return ua
}
