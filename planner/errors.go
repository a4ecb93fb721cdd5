package planner

import "fmt"

// FieldError is a validation error naming the request field at fault, with
// the SPEC's field names: "start", "end", "duration_minutes",
// "repeat.days_gap".
type FieldError struct {
	Field   string
	Message string
}

// Error renders e as "field: message".
func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

func fieldErrorf(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// MaxDaysGap is the largest repetition gap a run accepts, in days.
const MaxDaysGap = 3650

// CheckDaysGap returns a *FieldError for "repeat.days_gap" unless
// 0 <= g <= MaxDaysGap.
func CheckDaysGap(g int) error {
	if g < 0 || g > MaxDaysGap {
		return fieldErrorf("repeat.days_gap", "days gap %d is outside 0 .. %d", g, MaxDaysGap)
	}
	return nil
}
