// Package mail composes Intake's emails and sends them.
//
// The notification to a form's owner, the autoresponse to a submitter and the
// notice that a webhook endpoint was disabled are built as a [Message] by
// [Notification], [Autoresponse] and [EndpointDisabled], and the account
// emails carrying a single-use link by [VerifyAddress] and [PasswordReset]; a
// [Mailer] sends it.
// [SMTP] sends over INTAKE_SMTP_URL, and [Outbox], used when no SMTP URL is
// configured, only logs it so the worker can keep it in the outbox table.
//
// Email delivery is at least once: a worker that crashes after the server
// accepted a message sends it again. [MessageID] derives the Message-ID from
// what the message is about (submission, recipient, kind), so the copies carry
// the same Message-ID and mail clients and servers recognise them as one
// message. Errors tell the worker whether to retry: a [*PermanentError] (an
// SMTP 5xx reply to the message, a malformed address) cannot be fixed by
// retrying; any other error can.
//
// Submitters control much of what ends up in an email (the subject, the
// reply-to address, every value). Every header value is therefore made one
// line (CR and LF removed, so no header can be injected), addresses that are
// not valid are dropped, and the HTML bodies escape every value.
//
// The package is a leaf: it imports nothing else from Intake.
package mail
