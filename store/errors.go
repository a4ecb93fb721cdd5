package store

import "errors"

// ErrNotFound is returned when the record asked for does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a write conflicts with what is stored: a
// uniqueness rule (a login, an extension or a purpose name already taken)
// or the record's state (ending an event that already ended). The wrapping
// error says which.
var ErrConflict = errors.New("conflict")
