// Package accounts owns accounts, their users (passwords hashed with
// argon2id, email addresses verified by a link), their API keys (random,
// shown once, stored as a SHA-256 hash), dashboard sessions, and the
// single-use links of the verification and password-reset emails (random,
// stored as a SHA-256 hash, in email_tokens).
package accounts
