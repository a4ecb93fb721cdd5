package crm

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on a partner's text fields, in characters.
const (
	maxNameLen = 200
	maxTagLen  = 64
	maxTZLen   = 64
)

// Partner is a person or organisation that agents call. TZ is an IANA zone
// name, or "" for the daemon's default zone; the call windows are in that
// zone. The JSON form is the one of the HTTP API.
type Partner struct {
	ID      int64    `json:"id"`
	Name    string   `json:"name"`
	Company string   `json:"company"`
	TZ      string   `json:"tz"`
	Tags    []string `json:"tags"`
	Phones  []Phone  `json:"phones"`
	Windows []Window `json:"call_windows"`
}

// Normalize checks p and puts it in its stored form, with region (such as
// "BE") as the default region of numbers written without a country code:
//   - name (required), company and tz are trimmed; name and company have at
//     most 200 characters and no control characters;
//   - tz is "" or an IANA zone that time.LoadLocation knows, not "Local";
//   - tags are trimmed, empty and repeated ones dropped (order kept, exact
//     comparison), each at most 64 characters with no control characters;
//   - each phone gets its type trimmed and lower-cased ("phone" when empty),
//     its number trimmed and its E164 set by NormalizePhone;
//   - each call window is validated;
//   - nil Tags, Phones and Windows become empty, so JSON shows [].
//
// The error is a *FieldError naming the first wrong field ("phones[1].number",
// "call_windows[0].to"). On error p is left unchanged. ID is not looked at.
func (p *Partner) Normalize(region string) error {
	q, fe := p.normalized(region)
	if fe != nil {
		return fe
	}
	*p = q
	return nil
}

// normalized returns the stored form of p without changing p.
func (p *Partner) normalized(region string) (Partner, *FieldError) {
	q := *p
	q.Name = strings.TrimSpace(p.Name)
	if q.Name == "" {
		return Partner{}, &FieldError{"name", "required"}
	}
	if msg := checkText(q.Name, maxNameLen); msg != "" {
		return Partner{}, &FieldError{"name", msg}
	}
	q.Company = strings.TrimSpace(p.Company)
	if msg := checkText(q.Company, maxNameLen); msg != "" {
		return Partner{}, &FieldError{"company", msg}
	}
	q.TZ = strings.TrimSpace(p.TZ)
	if msg := checkZone(q.TZ); msg != "" {
		return Partner{}, &FieldError{"tz", msg}
	}
	q.Tags = make([]string, 0, len(p.Tags))
	for i, t := range p.Tags {
		t = strings.TrimSpace(t)
		if msg := checkText(t, maxTagLen); msg != "" {
			return Partner{}, &FieldError{fmt.Sprintf("tags[%d]", i), msg}
		}
		if t != "" && !slices.Contains(q.Tags, t) {
			q.Tags = append(q.Tags, t)
		}
	}
	q.Phones = make([]Phone, len(p.Phones))
	for i, ph := range p.Phones {
		ph.Type = strings.ToLower(strings.TrimSpace(ph.Type))
		if ph.Type == "" {
			ph.Type = PhoneTypePhone
		}
		if !validPhoneType(ph.Type) {
			return Partner{}, &FieldError{fmt.Sprintf("phones[%d].type", i),
				fmt.Sprintf("unknown type %q (want %s)", ph.Type, strings.Join(phoneTypes, ", "))}
		}
		ph.Number = strings.TrimSpace(ph.Number)
		e164, err := NormalizePhone(ph.Number, region)
		if err != nil {
			return Partner{}, &FieldError{fmt.Sprintf("phones[%d].number", i), err.Error()}
		}
		ph.E164 = e164
		q.Phones[i] = ph
	}
	q.Windows = make([]Window, len(p.Windows))
	for i, w := range p.Windows {
		if err := w.Validate(); err != nil {
			fe := &FieldError{Message: err.Error()}
			errors.As(err, &fe)
			return Partner{}, &FieldError{fmt.Sprintf("call_windows[%d].%s", i, fe.Field), fe.Message}
		}
		q.Windows[i] = w
	}
	return q, nil
}

// checkText returns why s is not an acceptable text field of at most max
// characters, or "".
func checkText(s string, max int) string {
	switch {
	case hasControl(s):
		return "contains a control character or invalid UTF-8"
	case utf8.RuneCountInString(s) > max:
		return fmt.Sprintf("too long (at most %d characters)", max)
	}
	return ""
}

// checkZone returns why tz is not "" or a loadable IANA zone name, or "".
func checkZone(tz string) string {
	if tz == "" {
		return ""
	}
	bad := fmt.Sprintf("unknown time zone %q (want an IANA name such as Europe/Brussels)", tz)
	if tz == "Local" || len(tz) > maxTZLen || strings.ContainsFunc(tz, func(r rune) bool {
		return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("/_+-", r))
	}) {
		return bad
	}
	if _, err := time.LoadLocation(tz); err != nil {
		return bad
	}
	return ""
}
