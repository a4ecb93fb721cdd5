package crm

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Validate checks that w can be stored: a weekday from Sunday to Saturday,
// 00:00 <= From <= To <= 24:00 with From before 24:00, real validity dates
// and ValidFrom <= ValidTo when both are set. The error is a *FieldError
// whose Field is the JSON name of the wrong field ("to", "valid_to").
func (w Window) Validate() error {
	switch {
	case w.Weekday < time.Sunday || w.Weekday > time.Saturday:
		return &FieldError{"weekday", fmt.Sprintf("%d is not a day of the week", int(w.Weekday))}
	case w.From < 0 || w.From > endOfDay:
		return &FieldError{"from", fmt.Sprintf("%d seconds is not a time of day", int(w.From))}
	case w.From == endOfDay:
		return &FieldError{"from", `24:00 is only allowed as "to"`}
	case w.To < 0 || w.To > endOfDay:
		return &FieldError{"to", fmt.Sprintf("%d seconds is not a time of day", int(w.To))}
	case w.To < w.From:
		return &FieldError{"to", fmt.Sprintf(`%s is before "from" %s`, w.To, w.From)}
	case !w.ValidFrom.IsZero() && !w.ValidFrom.valid():
		return &FieldError{"valid_from", fmt.Sprintf("%d-%d-%d is not a date", w.ValidFrom.Year, w.ValidFrom.Month, w.ValidFrom.Day)}
	case !w.ValidTo.IsZero() && !w.ValidTo.valid():
		return &FieldError{"valid_to", fmt.Sprintf("%d-%d-%d is not a date", w.ValidTo.Year, w.ValidTo.Month, w.ValidTo.Day)}
	case !w.ValidFrom.IsZero() && !w.ValidTo.IsZero() && w.ValidTo.Compare(w.ValidFrom) < 0:
		return &FieldError{"valid_to", fmt.Sprintf(`%s is before "valid_from" %s`, w.ValidTo, w.ValidFrom)}
	}
	return nil
}

// ParseWindows parses the text form of a list of call windows, as written
// in a CSV cell:
//
//	mon 09:00-12:00; tue 14:00-18:00
//	mon-fri 09:00-12:00, sat 10:00-11:30 2026-01-01..2026-06-30
//
// Entries are separated by ";", "," or line ends; empty entries are
// skipped. An entry is a day or a day range, a space, "FROM-TO", and
// optionally a space and "VALID_FROM..VALID_TO" (either date may be left
// out: "2026-01-01.."); spaces around "-" are allowed, not around "..". A day range runs forward through the week and may
// wrap: "mon-fri" is five windows, "fri-mon" is Friday to Monday. Every
// window is validated. A text with no entries gives nil, nil.
//
// An error names the entry, counting from 1, and says what is wrong:
// window 2 "tue 18:00-14:00": "to" 14:00 is before "from" 18:00.
func ParseWindows(s string) ([]Window, error) {
	entries := strings.FieldsFunc(s, func(r rune) bool {
		return r == ';' || r == ',' || r == '\n' || r == '\r'
	})
	var ws []Window
	n := 0
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		n++
		parsed, err := parseWindowEntry(e)
		if err != nil {
			return nil, fmt.Errorf("window %d %q: %w", n, e, err)
		}
		ws = append(ws, parsed...)
	}
	return ws, nil
}

// spacedDash matches the range separator "-" with the spaces people put
// around it ("mon - fri 09:00 - 12:00").
var spacedDash = regexp.MustCompile(`\s*-\s*`)

// parseWindowEntry parses one entry of ParseWindows: one window, or one
// per day of a day range.
func parseWindowEntry(e string) ([]Window, error) {
	f := strings.Fields(spacedDash.ReplaceAllString(e, "-"))
	if len(f) != 2 && len(f) != 3 {
		return nil, errors.New(`want "DAY HH:MM-HH:MM" or "DAY HH:MM-HH:MM YYYY-MM-DD..YYYY-MM-DD"`)
	}
	first, last, err := parseDayRange(f[0])
	if err != nil {
		return nil, err
	}
	var w Window
	from, to, ok := strings.Cut(f[1], "-")
	if !ok {
		return nil, fmt.Errorf(`%q is not a time range (want HH:MM-HH:MM)`, f[1])
	}
	if w.From, err = ParseClock(from); err != nil {
		return nil, fmt.Errorf(`"from": %w`, err)
	}
	if w.To, err = ParseClock(to); err != nil {
		return nil, fmt.Errorf(`"to": %w`, err)
	}
	if len(f) == 3 {
		vf, vt, ok := strings.Cut(f[2], "..")
		if !ok {
			return nil, fmt.Errorf(`%q is not a date range (want YYYY-MM-DD..YYYY-MM-DD)`, f[2])
		}
		if w.ValidFrom, err = ParseDate(vf); err != nil {
			return nil, fmt.Errorf(`"valid_from": %w`, err)
		}
		if w.ValidTo, err = ParseDate(vt); err != nil {
			return nil, fmt.Errorf(`"valid_to": %w`, err)
		}
	}
	if err := w.Validate(); err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			return nil, fmt.Errorf("%q %s", fe.Field, fe.Message)
		}
		return nil, err
	}
	ws := make([]Window, 0, 7)
	for d := first; ; d = (d + 1) % 7 {
		w.Weekday = d
		ws = append(ws, w)
		if d == last {
			return ws, nil
		}
	}
}

// parseDayRange parses "mon" or "mon-fri".
func parseDayRange(s string) (first, last time.Weekday, err error) {
	a, b, isRange := strings.Cut(s, "-")
	if first, err = ParseWeekday(a); err != nil {
		return 0, 0, err
	}
	if !isRange {
		return first, first, nil
	}
	if last, err = ParseWeekday(b); err != nil {
		return 0, 0, err
	}
	return first, last, nil
}

// FormatWindows renders ws in the text form that ParseWindows reads, so
// that ParseWindows(FormatWindows(ws)) gives ws back for valid windows.
// Runs of windows on following days with the same times and validity are
// written as a day range ("mon-fri 09:00-12:00"); entries are separated by
// "; ". Nil or empty ws gives "".
func FormatWindows(ws []Window) string {
	var b strings.Builder
	for i := 0; i < len(ws); {
		j := i + 1
		for j < len(ws) && j-i < 7 && sameHours(ws[i], ws[j]) && ws[j].Weekday == (ws[j-1].Weekday+1)%7 {
			j++
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(WeekdayName(ws[i].Weekday))
		if j-i > 1 {
			b.WriteString("-" + WeekdayName(ws[j-1].Weekday))
		}
		b.WriteString(" " + ws[i].From.String() + "-" + ws[i].To.String())
		if !ws[i].ValidFrom.IsZero() || !ws[i].ValidTo.IsZero() {
			b.WriteString(" " + ws[i].ValidFrom.String() + ".." + ws[i].ValidTo.String())
		}
		i = j
	}
	return b.String()
}

// sameHours reports whether v and w differ at most in their weekday.
func sameHours(v, w Window) bool {
	v.Weekday = w.Weekday
	return v == w
}
