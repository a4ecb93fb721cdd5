package crm

import (
	"fmt"
	"slices"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// LookupForms returns the E.164 numbers under which a caller's number,
// arriving in any format, may be stored, most likely first: the candidates
// for a reverse lookup (GET /api/partners?phone=...). raw may be written
// like a typed number ("+32 2 212 34 56", "0032 2 2123456", national
// "02 212 34 56" in region), be a tel: or SIP URI or a SIP header value
// (`"Alice" <sip:022123456@10.0.0.1>`), or be international digits
// without the "+" ("3222123456"), as some PBXs send them. Digits without
// "+" are tried both as national in region and as international.
//
// Only possible numbers are returned, as NormalizePhone stores only those;
// valid ones come before merely possible ones. The result has no
// duplicates and is nil when nothing parses. LookupForms never panics.
func LookupForms(raw, region string) []string {
	if len(raw) > maxPhoneLen || hasControl(raw) {
		return nil
	}
	dial, ok := dialString(raw)
	if !ok {
		return nil
	}
	region = strings.ToUpper(region)
	var tries []*parsedNumber
	if strings.HasPrefix(dial, "+") {
		n, _ := parseNumber(dial, "")
		tries = append(tries, n)
	} else {
		var n *parsedNumber
		if ValidRegion(region) {
			n, _ = parseNumber(dial, region)
			tries = append(tries, n)
		}
		// As in NormalizePhone, "00" is the international prefix unless the
		// region's own prefix matched.
		if n == nil || !n.viaIDD {
			n, _ = parseNumber("+"+strings.TrimPrefix(dial, "00"), "")
			tries = append(tries, n)
		}
	}
	var valid, possible []string
	for _, n := range tries {
		switch {
		case n == nil || !n.possible:
		case slices.Contains(valid, n.e164) || slices.Contains(possible, n.e164):
		case n.valid:
			valid = append(valid, n.e164)
		default:
			possible = append(possible, n.e164)
		}
	}
	return append(valid, possible...)
}

// parsedNumber is what NormalizePhone and LookupForms need to know of a
// number parsed by phonenumbers.
type parsedNumber struct {
	e164     string
	viaIDD   bool   // the region's international prefix gave the country code
	possible bool   // phonenumbers.IsPossibleNumber
	why      string // why it is not possible
	valid    bool   // phonenumbers.IsValidNumber
}

// parseNumber parses s, "+" and digits or digits only, as national in
// region unless it carries a country code. phonenumbers is a port of a
// large Java library: a panic inside it on hostile input becomes an error
// here instead of taking the daemon down.
func parseNumber(s, region string) (n *parsedNumber, err error) {
	defer func() {
		if r := recover(); r != nil {
			n, err = nil, fmt.Errorf("phone number parser failed: %v", r)
		}
	}()
	if region == "" {
		region = "ZZ" // unknown region: only numbers with "+" parse
	}
	pn, err := phonenumbers.ParseAndKeepRawInput(s, region)
	if err != nil {
		return nil, err
	}
	n = &parsedNumber{
		e164:   phonenumbers.Format(pn, phonenumbers.E164),
		viaIDD: pn.GetCountryCodeSource() == phonenumbers.PhoneNumber_FROM_NUMBER_WITH_IDD,
		valid:  phonenumbers.IsValidNumber(pn),
	}
	switch r := phonenumbers.IsPossibleNumberWithReason(pn); r {
	case phonenumbers.IS_POSSIBLE, phonenumbers.IS_POSSIBLE_LOCAL_ONLY:
		n.possible = true
	case phonenumbers.INVALID_COUNTRY_CODE:
		n.why = "unknown country code"
	case phonenumbers.TOO_SHORT:
		n.why = "too short"
	case phonenumbers.TOO_LONG:
		n.why = "too long"
	default:
		n.why = "wrong length for its country"
	}
	if n.possible && !isE164(n.e164) {
		n.possible, n.why = false, "no E.164 form"
	}
	// phonenumbers strips a trunk prefix after the country code ("+32 (0)2
	// ..."), so an E.164 form whose national part starts with one would
	// parse to another number: a stored form must parse to itself.
	if n.possible {
		if again, err := phonenumbers.Parse(n.e164, "ZZ"); err != nil || phonenumbers.Format(again, phonenumbers.E164) != n.e164 {
			n.possible, n.why = false, "ambiguous trunk prefix after the country code"
		}
	}
	return n, nil
}

// isE164 reports whether s is "+" and 2 to 15 digits, the first not 0.
func isE164(s string) bool {
	d, ok := strings.CutPrefix(s, "+")
	if !ok || len(d) < 2 || len(d) > 15 || d[0] == '0' {
		return false
	}
	_, ok = digits(d)
	return ok
}
