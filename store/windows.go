package store

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"phoned/crm"
)

// encodeWindows writes a partner's windows in the stored form of the
// partners.call_windows column: "weekday from to valid_from valid_to"
// items (weekday 0 = Sunday, seconds of the day, dates or empty) joined by
// ";". It is a storage form only: the API speaks crm.Window's JSON.
func encodeWindows(ws []crm.Window) string {
	var b strings.Builder
	for i, w := range ws {
		if i > 0 {
			b.WriteByte(';')
		}
		fmt.Fprintf(&b, "%d %d %d %s %s", int(w.Weekday), int(w.From), int(w.To), w.ValidFrom, w.ValidTo)
	}
	return b.String()
}

// decodeWindows reads encodeWindows' form ("" is no window).
func decodeWindows(s string) ([]crm.Window, error) {
	out := []crm.Window{}
	if s == "" {
		return out, nil
	}
	for _, item := range strings.Split(s, ";") {
		f := strings.Split(item, " ")
		if len(f) != 5 {
			return nil, fmt.Errorf("stored window %q has %d fields, want 5", item, len(f))
		}
		wd, err1 := strconv.Atoi(f[0])
		from, err2 := strconv.Atoi(f[1])
		to, err3 := strconv.Atoi(f[2])
		vf, err4 := crm.ParseDate(f[3])
		vt, err5 := crm.ParseDate(f[4])
		if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
			return nil, fmt.Errorf("stored window %q: %w", item, err)
		}
		out = append(out, crm.Window{Weekday: weekday(wd), From: crm.Clock(from), To: crm.Clock(to), ValidFrom: vf, ValidTo: vt})
	}
	return out, nil
}
