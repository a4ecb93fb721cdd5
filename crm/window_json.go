package crm

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"slices"
)

// windowJSON is the JSON object form of a Window.
type windowJSON struct {
	Weekday   string `json:"weekday"`
	From      string `json:"from"`
	To        string `json:"to"`
	ValidFrom string `json:"valid_from"`
	ValidTo   string `json:"valid_to"`
}

// MarshalJSON renders w as
// {"weekday":"mon","from":"09:00","to":"12:00","valid_from":"","valid_to":""},
// with "" for an unbounded validity date.
func (w Window) MarshalJSON() ([]byte, error) {
	return json.Marshal(windowJSON{
		Weekday:   WeekdayName(w.Weekday),
		From:      w.From.String(),
		To:        w.To.String(),
		ValidFrom: w.ValidFrom.String(),
		ValidTo:   w.ValidTo.String(),
	})
}

// windowKeys are the keys of the JSON object form of a Window.
var windowKeys = []string{"weekday", "from", "to", "valid_from", "valid_to"}

// UnmarshalJSON reads the object form that MarshalJSON writes. "weekday",
// "from" and "to" are required strings; "valid_from" and "valid_to" may be
// missing, null or "". Keys match exactly; any other key is an error, and
// so is null or anything but an object. The window is validated. Errors are
// *FieldError naming the key: `weekday: unknown day "xyz"`.
//
// When a Window sits in a list, the error does not carry its index: a
// caller that wants "call_windows[2].to" decodes the list element by
// element.
func (w *Window) UnmarshalJSON(data []byte) error {
	var obj map[string]json.RawMessage
	if bytes.Equal(bytes.TrimSpace(data), []byte("null")) || json.Unmarshal(data, &obj) != nil {
		return &FieldError{Message: "a call window must be an object with weekday, from and to"}
	}
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		if !slices.Contains(windowKeys, k) {
			return &FieldError{k, "unknown field"}
		}
	}
	var s windowJSON
	for _, k := range windowKeys {
		v, err := jsonString(obj[k])
		if err != nil {
			return &FieldError{k, err.Error()}
		}
		if v == nil {
			if k == "weekday" || k == "from" || k == "to" {
				return &FieldError{k, "required"}
			}
			continue
		}
		switch k {
		case "weekday":
			s.Weekday = *v
		case "from":
			s.From = *v
		case "to":
			s.To = *v
		case "valid_from":
			s.ValidFrom = *v
		case "valid_to":
			s.ValidTo = *v
		}
	}
	nw, err := s.window()
	if err != nil {
		return err
	}
	*w = nw
	return nil
}

// jsonString decodes a JSON string; a missing value or null is nil.
func jsonString(raw json.RawMessage) (*string, error) {
	if raw == nil || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, errors.New("must be a string")
	}
	return &s, nil
}

// window parses and validates the fields of s.
func (s windowJSON) window() (Window, error) {
	var w Window
	var err error
	if w.Weekday, err = ParseWeekday(s.Weekday); err != nil {
		return Window{}, &FieldError{"weekday", err.Error()}
	}
	if w.From, err = ParseClock(s.From); err != nil {
		return Window{}, &FieldError{"from", err.Error()}
	}
	if w.To, err = ParseClock(s.To); err != nil {
		return Window{}, &FieldError{"to", err.Error()}
	}
	if w.ValidFrom, err = ParseDate(s.ValidFrom); err != nil {
		return Window{}, &FieldError{"valid_from", err.Error()}
	}
	if w.ValidTo, err = ParseDate(s.ValidTo); err != nil {
		return Window{}, &FieldError{"valid_to", err.Error()}
	}
	if err := w.Validate(); err != nil {
		return Window{}, err
	}
	return w, nil
}
