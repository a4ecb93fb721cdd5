// Package sip is phoned's SIP user agent on github.com/emiago/sipgo: the
// UDP and TCP listeners, OPTIONS keep-alives, the embedded registrar
// (REGISTER with digest auth, bindings with expiry), and the trust gate
// that decides whether an INVITE may reach the call engine at all.
//
// The gate is the toll-fraud boundary: an INVITE is handed to [Inbound]
// only when it comes from an address in [Config.Trust] (the PBX or trunk)
// or when the device proves the password of the account named in its From
// header with digest auth (RFC 2617/7616, MD5). Everything else gets 407
// or 403 and never rings anyone; sources that keep failing are refused
// without a challenge for a while.
//
// Storage stays outside: the package declares the small interfaces it
// needs ([Directory] for accounts, [Bindings] for registrations), which
// the store implements.
package sip
