// Package webhooks delivers submissions to their owners' endpoints the
// Standard Webhooks way (the README's "Notifications: webhooks and email"):
// endpoints and their secrets, signing, the SSRF guard, the delivery worker
// and its log.
//
// The worker works a job as River's executor does: it sends the attempt
// (no database), classifies its outcome (delivered, snooze, retry, give up,
// disable — a pure function), and records it in one transaction. Its
// waits between attempts are internal/retry's policy, shared with emails.
//
// Its tables: webhook_endpoints (each form's endpoints, their sealed
// secrets and run of failures), deliveries (one per submission and
// endpoint) and delivery_attempts (the log). The submission path reads a
// form's endpoints through Planner, in the batch that reads the form.
package webhooks
