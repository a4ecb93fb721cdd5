package store

import "errors"

// ErrNotFound is returned when the record asked for does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a write would break a uniqueness rule
// (a login, an extension or a purpose name already taken).
var ErrConflict = errors.New("already exists")
