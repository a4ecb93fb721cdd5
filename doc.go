// Package phoned is the root of the phoned module: a daemon that couples a
// call planner, a SIP user agent and a WebRTC phone widget for a CRM's
// telephone work. The code lives in the packages below this one; this
// file only carries the module-wide tests (such as pkgdoc_test.go).
package phoned
