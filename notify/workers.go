package notify

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/database"
	"github.com/intakehq/intake/idempotency"
	"github.com/intakehq/intake/internal/retry"
	"github.com/intakehq/intake/internal/seal"
	"github.com/intakehq/intake/mail"
	"github.com/intakehq/intake/submissions"
	"github.com/intakehq/intake/webhooks"
)

// Deps are what Intake's workers need.
type Deps struct {
	DB         *pgxpool.Pool
	Mailer     mail.Mailer  // nil: the outbox
	HTTPClient *http.Client // nil: webhooks.NewHTTPClient(false)
	Sealer     *seal.Sealer // opens endpoint secrets and link tokens; nil: stored in clear
	Links      *Links       // signs confirmation and unsubscribe links; nil: none
	// FileLinks signs the links to files in webhook payloads and emails;
	// nil: the API's routes.
	FileLinks *submissions.FileLinks
	// MaxAttached bounds the files a notification attaches, in all; 0 is
	// MaxAttached (tests lower it).
	MaxAttached int64
	From        string
	BaseURL     string
	Logger      *slog.Logger
	// Observer, when set, counts deliveries and emails.
	Observer interface {
		ObserveDelivery(result string, latency time.Duration)
		ObserveEmail(result string)
	}
	// Schedule overrides the webhook retry schedule (tests shorten it).
	Schedule []time.Duration
}

// Workers returns every River worker of Intake. Every process registers all
// of them, even one that only inserts jobs: River refuses to insert a job
// of an unregistered kind.
func Workers(d Deps) *river.Workers {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Mailer == nil {
		d.Mailer = &mail.Outbox{Logger: d.Logger}
	}
	if d.HTTPClient == nil {
		d.HTTPClient = webhooks.NewHTTPClient(false)
	}
	delivery := &webhooks.DeliveryWorker{DB: d.DB, Client: d.HTTPClient, Sealer: d.Sealer, FileLinks: d.FileLinks, BaseURL: d.BaseURL, Logger: d.Logger,
		Retry: retry.Policy{Schedule: d.Schedule}, OnDisabled: EndpointDisabled}
	email := &EmailWorker{DB: d.DB, Mailer: d.Mailer, Sealer: d.Sealer, From: d.From, BaseURL: d.BaseURL, Links: d.Links,
		FileLinks: d.FileLinks, MaxAttached: d.MaxAttached, Logger: d.Logger}
	if d.Observer != nil {
		delivery.Observe = d.Observer.ObserveDelivery
		email.Observe = d.Observer.ObserveEmail
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, delivery)
	river.AddWorker(workers, email)
	river.AddWorker(workers, &idempotency.SweepWorker{DB: d.DB, Others: []func(context.Context, database.Executor) (int64, error){accounts.SweepSessions, SweepAutoresponses}})
	river.AddWorker(workers, &QuotaWorker{DB: d.DB})
	river.AddWorker(workers, &submissions.RetentionWorker{DB: d.DB, Logger: d.Logger})
	return workers
}

// Queues are the queues a working process runs: deliveries apart from
// email, so a slow receiver cannot hold up notifications.
func Queues() map[string]river.QueueConfig {
	return map[string]river.QueueConfig{
		river.QueueDefault: {MaxWorkers: 5},
		webhooks.Queue:     {MaxWorkers: 50},
		Queue:              {MaxWorkers: 50}, // with serve's 20 ms FetchCooldown: docs/BENCHMARKS.md, "Jobs keep pace"
	}
}

// PeriodicJobs are the jobs River's elected leader enqueues on a schedule.
func PeriodicJobs() []*river.PeriodicJob {
	return []*river.PeriodicJob{idempotency.PeriodicSweep(), PeriodicQuotaCheck(), submissions.PeriodicRetention()}
}
