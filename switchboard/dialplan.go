package switchboard

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"

	"phoned/crm"
)

// DialPlan says which outside numbers phoned may call: every number is
// normalised to E.164 first, then must start with one of the allowed
// prefixes. It is the toll-fraud gate of outbound calls; extensions of
// agents are not subject to it.
type DialPlan struct {
	region string   // the region of numbers written without a country code
	allow  []string // "+" and digits
}

// maxPrefixDigits is the longest allowed prefix: a whole E.164 number.
const maxPrefixDigits = 15

// NewDialPlan returns the plan allowing numbers that start with one of
// the prefixes ("+32", "+3247"), written as "+" and 1 to 15 digits. With
// no prefix, the plan allows the numbers of region (an ISO 3166 code such
// as "BE": "+32"), which is also the region of numbers written without a
// country code.
func NewDialPlan(region string, prefixes []string) (*DialPlan, error) {
	region = strings.ToUpper(strings.TrimSpace(region))
	if !crm.ValidRegion(region) {
		return nil, fmt.Errorf("dial plan: unknown phone region %q", region)
	}
	p := &DialPlan{region: region}
	for _, pre := range prefixes {
		pre = strings.TrimSpace(pre)
		digits, ok := strings.CutPrefix(pre, "+")
		if !ok || digits == "" || len(digits) > maxPrefixDigits || strings.Trim(digits, "0123456789") != "" {
			return nil, fmt.Errorf("dial plan: %q is not a prefix of E.164 numbers (\"+\" and 1 to %d digits, e.g. +32)", pre, maxPrefixDigits)
		}
		if digits[0] == '0' {
			return nil, fmt.Errorf("dial plan: %q: no country calling code starts with 0", pre)
		}
		p.allow = append(p.allow, pre)
	}
	if len(p.allow) == 0 {
		cc := phonenumbers.GetCountryCodeForRegion(region)
		if cc == 0 {
			return nil, fmt.Errorf("dial plan: region %q has no country calling code", region)
		}
		p.allow = []string{"+" + strconv.Itoa(cc)}
	}
	return p, nil
}

// ParseDialAllow splits a comma-separated list of prefixes ("+32,+33"),
// as --dial-allow takes it, and builds the plan.
func ParseDialAllow(region, list string) (*DialPlan, error) {
	var prefixes []string
	for _, p := range strings.Split(list, ",") {
		if p = strings.TrimSpace(p); p != "" {
			prefixes = append(prefixes, p)
		}
	}
	return NewDialPlan(region, prefixes)
}

// Allowed returns the allowed prefixes.
func (p *DialPlan) Allowed() []string { return append([]string(nil), p.allow...) }

// String lists the allowed prefixes, comma-separated.
func (p *DialPlan) String() string {
	if p == nil {
		return ""
	}
	return strings.Join(p.allow, ",")
}

// Check normalises number to E.164 (crm.NormalizePhone: spaces, dots and
// the like are dropped, a number without a country code is taken in the
// plan's region) and returns it when the plan allows it. Errors wrap
// ErrBadNumber (not a phone number; control characters included) or
// ErrNotAllowed, with words for the client.
func (p *DialPlan) Check(number string) (string, error) {
	e164, err := crm.NormalizePhone(number, p.region)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadNumber, err)
	}
	for _, pre := range p.allow {
		if strings.HasPrefix(e164, pre) {
			return e164, nil
		}
	}
	return "", fmt.Errorf("%w: %s does not start with %s", ErrNotAllowed, e164, strings.Join(p.allow, " or "))
}
