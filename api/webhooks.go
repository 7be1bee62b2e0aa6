package api

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/submissions"
	"github.com/intakehq/intake/webhooks"
)

// webhookBody is an endpoint as the API shows it (api/openapi.json). The secret is
// shown when the endpoint is created and when it is rotated, never in lists.
type webhookBody struct {
	ID                      string     `json:"id"`
	Form                    string     `json:"form"`
	URL                     string     `json:"url"`
	Enabled                 bool       `json:"enabled"`
	IncludeSpam             bool       `json:"include_spam"`
	Secret                  string     `json:"secret,omitempty"`
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at,omitempty"`
	DisabledReason          string     `json:"disabled_reason,omitempty"`
	FailingSince            *time.Time `json:"failing_since,omitempty"`
	CreatedAt               time.Time  `json:"created_at"`
	UpdatedAt               time.Time  `json:"updated_at"`
	Format                  string     `json:"format"`
	ChatID                  string     `json:"chat_id,omitempty"`
}

// toWebhookBody shows e; secret is its secret in clear, "" when it is not
// to be shown.
func toWebhookBody(e *webhooks.Endpoint, secret string) webhookBody {
	b := webhookBody{ID: e.PublicID, Form: e.FormPublicID, URL: e.URL, Enabled: e.Enabled, IncludeSpam: e.IncludeSpam,
		DisabledReason: e.DisabledReason, FailingSince: e.FailingSince, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt,
		Format: string(e.Format), ChatID: e.ChatID}
	if secret != "" {
		b.Secret = secret
		b.PreviousSecretExpiresAt = e.PreviousSecretExpiresAt
	}
	return b
}

// deliveryBody is a delivery as the API shows it (api/openapi.json).
type deliveryBody struct {
	ID            string        `json:"id"`
	WebhookID     string        `json:"webhook_id"`
	SubmissionID  string        `json:"submission_id"`
	MessageID     string        `json:"message_id"`
	State         string        `json:"state"`
	Attempts      int           `json:"attempts"`
	LastStatus    *int          `json:"last_status"`
	LastError     *string       `json:"last_error"`
	NextAttemptAt *time.Time    `json:"next_attempt_at"`
	CreatedAt     time.Time     `json:"created_at"`
	UpdatedAt     time.Time     `json:"updated_at"`
	AttemptLog    []attemptBody `json:"attempt_log,omitempty"`
}

type attemptBody struct {
	At           time.Time `json:"at"`
	Status       *int      `json:"status"`
	LatencyMS    int64     `json:"latency_ms"`
	ResponseBody string    `json:"response_body,omitempty"`
	Error        string    `json:"error,omitempty"`
}

func toDeliveryBody(d *webhooks.Delivery) deliveryBody {
	b := deliveryBody{ID: d.PublicID, WebhookID: d.EndpointPublicID, SubmissionID: submissions.FormatID(d.SubmissionID),
		MessageID: d.MessageID, State: d.State, Attempts: d.Attempts, LastStatus: d.LastStatus,
		NextAttemptAt: d.NextAttemptAt, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
	if d.LastError != "" {
		b.LastError = &d.LastError
	}
	return b
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) {
	var in webhooks.Input
	form, ok := s.formFor(w, r)
	if !ok {
		return
	}
	if err := decodeJSON(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	e, secret, err := webhooks.Create(r.Context(), s.DB, s.Sealer, s.WebhookURLs, s.actor(r), form, in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", s.BaseURL+"/api/v1/webhooks/"+e.PublicID)
	writeJSON(w, http.StatusCreated, toWebhookBody(e, secret))
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) {
	form, ok := s.formFor(w, r)
	if !ok {
		return
	}
	out, err := s.webhooksOf(r.Context(), form.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// webhooksOf lists the form's endpoints, their secrets not shown.
func (s *Server) webhooksOf(ctx context.Context, formID int64) (listBody[webhookBody], error) {
	list, err := webhooks.List(ctx, s.DB, formID)
	if err != nil {
		return listBody[webhookBody]{}, err
	}
	out := listBody[webhookBody]{Data: make([]webhookBody, 0, len(list))}
	for _, e := range list {
		out.Data = append(out.Data, toWebhookBody(e, ""))
	}
	return out, nil
}

func (s *Server) endpointFor(w http.ResponseWriter, r *http.Request) (*webhooks.Endpoint, bool) {
	e, err := webhooks.ForAccount(r.Context(), s.DB, principal(r).AccountID, chi.URLParam(r, "webhookID"))
	if err != nil {
		s.writeError(w, r, err)
		return nil, false
	}
	return e, true
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request) {
	if e, ok := s.endpointFor(w, r); ok {
		writeJSON(w, http.StatusOK, toWebhookBody(e, ""))
	}
}

func (s *Server) updateWebhook(w http.ResponseWriter, r *http.Request) {
	e, ok := s.endpointFor(w, r)
	if !ok {
		return
	}
	var in webhooks.Input
	if err := decodeJSON(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	e, err := webhooks.Update(r.Context(), s.DB, s.WebhookURLs, s.actor(r), e, in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toWebhookBody(e, ""))
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	e, ok := s.endpointFor(w, r)
	if !ok {
		return
	}
	if err := webhooks.Delete(r.Context(), s.DB, s.actor(r), e); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) rotateWebhookSecret(w http.ResponseWriter, r *http.Request) {
	e, ok := s.endpointFor(w, r)
	if !ok {
		return
	}
	e, secret, err := webhooks.Rotate(r.Context(), s.DB, s.Sealer, s.actor(r), e)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toWebhookBody(e, secret))
}

func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request) {
	e, ok := s.endpointFor(w, r)
	if !ok {
		return
	}
	out, err := s.deliveriesPage(r.Context(), e.ID, r.URL.Query())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// deliveriesPage is the page of the endpoint's deliveries q names (limit,
// cursor).
func (s *Server) deliveriesPage(ctx context.Context, endpointID int64, q url.Values) (listBody[deliveryBody], error) {
	out := listBody[deliveryBody]{Data: []deliveryBody{}}
	limit, before, err := idPageParams(q)
	if err != nil {
		return out, err
	}
	list, err := webhooks.Deliveries(ctx, s.DB, endpointID, before, limit+1)
	if err != nil {
		return out, err
	}
	if len(list) > limit {
		list = list[:limit]
		out.NextCursor = idCursor(list[limit-1].ID)
	}
	for _, d := range list {
		out.Data = append(out.Data, toDeliveryBody(d))
	}
	return out, nil
}

func (s *Server) getDelivery(w http.ResponseWriter, r *http.Request) {
	d, err := webhooks.DeliveryForAccount(r.Context(), s.DB, principal(r).AccountID, chi.URLParam(r, "deliveryID"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	attempts, err := webhooks.Attempts(r.Context(), s.DB, d.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	b := toDeliveryBody(d)
	for _, a := range attempts {
		ab := attemptBody{At: a.At, LatencyMS: a.Latency.Milliseconds(), ResponseBody: a.ResponseBody, Error: a.Error}
		if a.Status != 0 {
			ab.Status = &a.Status
		}
		b.AttemptLog = append(b.AttemptLog, ab)
	}
	writeJSON(w, http.StatusOK, b)
}

// redeliver sends a delivery once more, with the same webhook-id: 202, the
// attempt happens in the background.
func (s *Server) redeliver(w http.ResponseWriter, r *http.Request) {
	d, err := s.redeliverFor(r.Context(), s.actor(r), principal(r).AccountID, chi.URLParam(r, "deliveryID"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, d)
}

// redeliverFor sends the account's delivery publicID once more and answers
// it as it is now (the API and the MCP tool redeliver).
func (s *Server) redeliverFor(ctx context.Context, actor audit.Actor, accountID int64, publicID string) (deliveryBody, error) {
	d, err := webhooks.DeliveryForAccount(ctx, s.DB, accountID, publicID)
	if err != nil {
		return deliveryBody{}, err
	}
	if err := webhooks.Redeliver(ctx, s.DB, s.River, actor, d); err != nil {
		return deliveryBody{}, err
	}
	d, err = webhooks.DeliveryForAccount(context.WithoutCancel(ctx), s.DB, accountID, d.PublicID)
	if err != nil {
		return deliveryBody{}, err
	}
	return toDeliveryBody(d), nil
}

// testResult is the answer of POST /webhooks/{id}/test: what the receiver
// said to one made-up event.
type testResult struct {
	Delivered    bool   `json:"delivered"`
	Status       int    `json:"status"`
	LatencyMS    int64  `json:"latency_ms"`
	ResponseBody string `json:"response_body"`
	Error        string `json:"error,omitempty"`
}

// TestResultOf is what a test attempt came to.
func testResultOf(a webhooks.Attempt) testResult {
	return testResult{Delivered: a.Error == "" && a.Status >= 200 && a.Status < 300, Status: a.Status,
		LatencyMS: a.Latency.Milliseconds(), ResponseBody: a.ResponseBody, Error: a.Error}
}

// testWebhook sends the endpoint one made-up event in its format now and
// answers what its receiver said (nothing is stored or counted).
func (s *Server) testWebhook(w http.ResponseWriter, r *http.Request) {
	e, ok := s.endpointFor(w, r)
	if !ok {
		return
	}
	res, err := s.sendTest(r.Context(), e)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// sendTest sends e a test event (webhooks.DeliveryWorker.Test).
func (s *Server) sendTest(ctx context.Context, e *webhooks.Endpoint) (testResult, error) {
	if s.Webhooks == nil {
		return testResult{}, &intake.Error{Kind: intake.Unavailable, Type: intake.TypeUnavailable, Title: "Service unavailable",
			Detail: "This server sends no webhooks.", RetryAfter: time.Minute}
	}
	form, err := forms.ByPublicID(ctx, s.DB, e.FormPublicID)
	if err != nil {
		return testResult{}, err
	}
	a, err := s.Webhooks.Test(ctx, e, form)
	if err != nil {
		return testResult{}, err
	}
	return testResultOf(a), nil
}

// formSample answers one event as a receiver gets it, for no-code tools:
// the form's latest submission that is not spam, or a made-up one when it
// has none (Intake-Sample says which).
func (s *Server) formSample(w http.ResponseWriter, r *http.Request) {
	form, ok := s.formFor(w, r)
	if !ok {
		return
	}
	no := false
	subs, _, err := submissions.List(r.Context(), s.DB, submissions.ListParams{Filter: submissions.Filter{FormID: form.ID, Spam: &no}, Limit: 1})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	sub, kind := webhooks.Example(form, time.Now()), "example"
	if len(subs) > 0 {
		sub, kind = subs[0], "latest"
	}
	w.Header().Set("Intake-Sample", kind)
	writeJSON(w, http.StatusOK, webhooks.EventOf(sub, s.FileLinks))
}
