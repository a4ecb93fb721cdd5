package crm

import (
	"fmt"
	"strings"
)

// FieldError says which field of a value is wrong and why. Field is a path
// in the JSON form of the value: "name", "tz", "phones[1].number",
// "call_windows[0].to". Message is meant for the client and does not
// repeat the field.
type FieldError struct {
	Field   string
	Message string
}

// Error returns "field: message", or only the message when Field is empty.
func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// RowError is one bad row of a CSV import. Row is the line of the file on
// which the record starts (the header is line 1); Field, when known, is the
// field path of the problem as in FieldError.
type RowError struct {
	Row   int    `json:"row"`
	Field string `json:"field,omitempty"`
	Error string `json:"error"`
}

// ImportError lists every bad row of a CSV import, in file order. An import
// that fails with it stores nothing.
type ImportError struct {
	Rows []RowError
}

// maxSummaryRows is how many rows ImportError.Error names before it only
// counts the rest.
const maxSummaryRows = 3

// Error summarises the bad rows: "3 bad rows: row 2: ...; row 5: ...".
func (e *ImportError) Error() string {
	var b strings.Builder
	if len(e.Rows) == 1 {
		b.WriteString("1 bad row: ")
	} else {
		fmt.Fprintf(&b, "%d bad rows: ", len(e.Rows))
	}
	for i, r := range e.Rows {
		if i == maxSummaryRows {
			fmt.Fprintf(&b, "; and %d more", len(e.Rows)-i)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "row %d: ", r.Row)
		if r.Field != "" {
			b.WriteString(r.Field + ": ")
		}
		b.WriteString(r.Error)
	}
	return b.String()
}
