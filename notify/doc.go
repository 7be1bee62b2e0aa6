// Package notify is what happens after a submission: it plans the webhook
// deliveries and emails each submission enqueues (in the submission's own
// transaction) and sends the emails. The deliveries' part of the plan is
// webhooks.Planner; the owner and the quotas are read through accounts.
//
// It also keeps Intake from being a relay of mail to strangers. An address
// a form lists in settings.notify_emails gets notifications only once it
// has confirmed through the link mailed to it (double opt-in); every
// notification carries a one-click unsubscribe link (RFC 8058); and the
// autoresponse goes to one address at most three times a day per form.
// See recipients.go and docs/SECURITY.md ("The owner's inbox").
//
// Its tables: outbound_emails (every email, the outbox),
// notify_recipients (each form's notification addresses and their opt-in
// state) and autoresponses (the last day's autoresponses, for the limit).
// Its part of a person's erasure (package people) is in erase.go.
package notify
