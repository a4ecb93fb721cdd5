package switchboard

import "errors"

// ErrNoAgent is returned by Agents when no active user has the extension.
var ErrNoAgent = errors.New("no agent with this extension")
