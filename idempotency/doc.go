// Package idempotency makes a submission exactly-once: it parses keys,
// fingerprints payloads, claims (form, key) rows inside the submission's
// transaction, replays stored responses, and sweeps expired keys.
//
// A key row is written with the response already in it — ids and the
// response body are made before the first statement — so claiming a key and
// storing its response are one INSERT. A second request with the same key
// blocks on that row's unique index until the first transaction ends: after
// a commit it replays the stored response, after a rollback it claims the key
// itself. The wait is bounded by the transaction's lock_timeout.
//
// Its table: idempotency_keys. The claim (ClaimSQL) is a part of the
// submissions' group write (submissions/write.go), which places it first
// in its statement; the lookups and the sweep are statements of their own.
// ErasedSQL is its part of a person's erasure (package people).
package idempotency
