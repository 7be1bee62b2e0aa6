package api

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are Intake's Prometheus metrics, on a registry of their own (no
// globals: tests run many servers in one process). Each help text names
// every value its labels take, so a dashboard can be written from /metrics
// alone (TestMetricsHelpNamesLabelValues).
type Metrics struct {
	Registry       *prometheus.Registry
	Submissions    *prometheus.CounterVec
	SubmitDuration *prometheus.HistogramVec
	HTTPRequests   *prometheus.CounterVec
	Deliveries     *prometheus.CounterVec
	DeliveryTime   prometheus.Histogram
	Emails         *prometheus.CounterVec
	Duplicates     *prometheus.CounterVec
	ReplayAge      prometheus.Histogram
	MCPToolCalls   *prometheus.CounterVec
}

// NewMetrics registers Intake's metrics, the Go runtime's and, when db is
// not nil, the pool's and River's queue depth.
func NewMetrics(db *pgxpool.Pool) *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		Submissions: counter("intake_submissions_total",
			"Submissions to /f/ by outcome: created, replayed, duplicate, spam, conflict, invalid, limited, client_timeout, abandoned, error.", "outcome"),
		SubmitDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "intake_submit_duration_seconds",
			Help:    "Time to answer a submission to /f/, by outcome: created, replayed, duplicate, spam, conflict, invalid, limited, client_timeout, abandoned, error.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"outcome"}),
		HTTPRequests: counter("intake_http_requests_total",
			"HTTP requests by route (the route's pattern, or unmatched for none) and code (the HTTP status code).", "route", "code"),
		Deliveries: counter("intake_webhook_deliveries_total",
			"Webhook delivery attempts by result: delivered, failed, throttled, gone.", "result"),
		DeliveryTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "intake_webhook_delivery_duration_seconds",
			Help:    "Time from sending a webhook to its answer.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 15},
		}),
		Emails: counter("intake_emails_total",
			"Emails by result: sent, outbox (no SMTP configured), retry, failed.", "result"),
		Duplicates: counter("intake_duplicates_absorbed_total",
			"Duplicate submissions absorbed (nothing stored or sent for them), by how they were recognised: key (a retry with the same Idempotency-Key), implicit (a browser's repeat within implicit_dedupe_window), unique (a form's unique value), keyless (identical keyless JSON within keyless_json_window).", "how"),
		ReplayAge: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "intake_idempotency_replay_age_seconds",
			Help:    "How long after its submission was stored a replay came: the age of the key at replay.",
			Buckets: []float64{.01, .05, .1, .5, 1, 5, 30, 60, 300, 1800, 3600, 21600, 86400, 604800},
		}),
		MCPToolCalls: counter("intake_mcp_tool_calls_total",
			"MCP tool calls (/mcp) by tool — "+strings.Join(mcpToolNames, ", ")+", or other (a name that is no tool) — and outcome: "+
				"ok, refused (a 4xx problem, the caller's to fix: invalid arguments, not found, forbidden…), failed (a 5xx problem), error (no tool ran: a protocol error).",
			"tool", "outcome"),
	}
	m.Registry.MustRegister(m.Submissions, m.SubmitDuration, m.HTTPRequests, m.Deliveries, m.DeliveryTime, m.Emails, m.Duplicates, m.ReplayAge, m.MCPToolCalls,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if db != nil {
		m.Registry.MustRegister(&queueCollector{db: db})
	}
	return m
}

// counter is a counter partitioned by labels.
func counter(name, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
}

// ObserveDelivery counts a webhook attempt; it is the delivery worker's Observe.
func (m *Metrics) ObserveDelivery(result string, latency time.Duration) {
	m.Deliveries.WithLabelValues(result).Inc()
	if latency > 0 {
		m.DeliveryTime.Observe(latency.Seconds())
	}
}

// ObserveEmail counts an email; it is the email worker's Observe.
func (m *Metrics) ObserveEmail(result string) { m.Emails.WithLabelValues(result).Inc() }

// queueCollector reports River's jobs by state when scraped.
type queueCollector struct{ db *pgxpool.Pool }

var queueDesc = prometheus.NewDesc("intake_queue_jobs",
	"River jobs by state: available, scheduled and retryable (the queue depth), pending, running, completed, cancelled, discarded.",
	[]string{"state"}, nil)

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- queueDesc }

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	rows, err := c.db.Query(ctx, `SELECT state::text, count(*) FROM river_job GROUP BY state`)
	if err != nil {
		return
	}
	defer rows.Close()
	for rows.Next() {
		var state string
		var n int64
		if rows.Scan(&state, &n) == nil {
			ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(n), state)
		}
	}
}
