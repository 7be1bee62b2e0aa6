// Package accounts owns accounts, their users (passwords hashed with
// argon2id) and their API keys (random, shown once, stored as a SHA-256 hash).
package accounts
