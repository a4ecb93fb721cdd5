package crm

import (
	"fmt"
	"strings"
	"time"
)

// weekdayNames are the short names of the days, indexed by time.Weekday.
var weekdayNames = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// ParseWeekday parses a day name: "mon" .. "sun" or the full English name
// ("monday"), in any case. Surrounding spaces are not accepted.
func ParseWeekday(s string) (time.Weekday, error) {
	l := strings.ToLower(s)
	for d, short := range weekdayNames {
		if l == short || l == strings.ToLower(time.Weekday(d).String()) {
			return time.Weekday(d), nil
		}
	}
	return 0, fmt.Errorf("unknown day %q", s)
}

// WeekdayName returns the short name of d ("mon" .. "sun"), the form that
// ParseWeekday, ParseWindows and the JSON of a Window use. It returns ""
// for a value outside time.Sunday .. time.Saturday.
func WeekdayName(d time.Weekday) string {
	if d < time.Sunday || d > time.Saturday {
		return ""
	}
	return weekdayNames[d]
}
