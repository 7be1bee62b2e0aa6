// Package people answers a person's requests about their data (GDPR, CCPA):
// finding every submission of an account that carries their email address
// (Lookup) and erasing them with everything that holds a copy (Erase). See
// docs/ARCHITECTURE.md, "A person's data".
//
// It owns no table. What carries an address is submissions' definition
// (submissions/people.go, migration 00024); the erasure is one statement
// per batch assembled from each owner's part: the submissions and the
// count of their files (submissions), their idempotency keys' stored
// answers (idempotency), their emails and autoresponse records (notify),
// their River jobs (database), the count of their webhook deliveries
// (webhooks). Both are recorded in the audit log in their transaction,
// with the address masked (Mask): the log is append-only and outlives the
// erasure, so it must not keep the address it erased.
package people
