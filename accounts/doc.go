// Package accounts owns accounts, their members (roles.go: a user may be a
// member of several accounts, each membership with a Role; the account a
// session looks at is the session's), users (passwords hashed with
// argon2id, email addresses verified by a link), their API keys (random,
// shown once, stored as a SHA-256 hash; read_write or read_only, a scope
// the API enforces), dashboard sessions, and the
// single-use links of the verification and password-reset emails (random,
// stored as a SHA-256 hash, in email_tokens).
//
// Its tables: accounts, users, memberships, invites (invitations to an
// account: invites.go), api_keys, sessions, email_tokens, plans,
// account_usage (each account's submissions per month, in shards; the
// count is a part of the submissions' group write, CountsSQL) and
// quota_warnings (the shares of a quota already warned of), and the
// tables of two-factor log-in (twofactor.go): two_factor (each user's TOTP
// secret, sealed), recovery_codes (stored hashed, single use) and
// login_challenges (the half-logged-in state between the password and the
// code), with accounts.require_two_factor. An account's
// owner is its member with the role owner (OwnerSQL, Owner): other packages
// read it only through these.
package accounts
