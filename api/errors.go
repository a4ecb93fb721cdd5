package api

import (
	"errors"
	"fmt"
	"net/http"

	"phoned/store"
)

// Error is a failed request: Status and Message (and Field) go to the
// client; Err, when set, is the detail that goes to the log only.
type Error struct {
	Status  int
	Message string
	Field   string
	Extra   map[string]any // more members of the JSON body (e.g. CSV row errors)
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%d %s: %v", e.Status, e.Message, e.Err)
	}
	return fmt.Sprintf("%d %s", e.Status, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// PublicMessage is the error's words for the user, without the detail
// kept for the log (the widget's signalling shows it).
func (e *Error) PublicMessage() string { return e.Message }

// HTTPStatus is the status the API would answer with.
func (e *Error) HTTPStatus() int { return e.Status }

func badRequest(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Field: field, Message: fmt.Sprintf(format, args...)}
}

func notFound(what string) *Error {
	return &Error{Status: http.StatusNotFound, Message: what + " not found"}
}

var (
	errUnauthorized = &Error{Status: http.StatusUnauthorized, Message: "authentication required: log in or send an API token"}
	errForbidden    = &Error{Status: http.StatusForbidden, Message: "your role does not allow this"}
)

// storeError turns the store's sentinel errors into client errors; others
// stay internal.
func storeError(err error, what string) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Message: what + " not found", Err: err}
	case errors.Is(err, store.ErrConflict):
		return &Error{Status: http.StatusConflict, Message: what + " already exists", Err: err}
	}
	return err
}
