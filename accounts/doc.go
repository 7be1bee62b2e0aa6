// Package accounts owns accounts, their users (passwords hashed with
// argon2id, email addresses verified by a link), their API keys (random,
// shown once, stored as a SHA-256 hash), dashboard sessions, and the
// single-use links of the verification and password-reset emails (random,
// stored as a SHA-256 hash, in email_tokens).
//
// Its tables: accounts, users, api_keys, sessions, email_tokens, plans and
// account_usage (each account's submissions per month, in shards; the
// count is a part of the submissions' group write, CountsSQL).
package accounts
