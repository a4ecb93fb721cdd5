package api

import "os"

func osMkdirTemp(pattern string) (string, error) { return os.MkdirTemp("", pattern) }
