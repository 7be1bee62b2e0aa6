package web

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/submissions"
	"github.com/intakehq/intake/webhooks"
)

// webhooksView is the data of a form's webhooks page.
type webhooksView struct {
	base
	FormID      string
	FormName    string
	Endpoints   []endpointRow
	URL         string // the new endpoint's URL, as typed
	Format      string // as chosen
	ChatID      string // telegram's, as typed (never the token)
	Formats     []webhooks.Format
	IncludeSpam bool
	Error       string // about URL
	Max         int    // how many endpoints a form may have
}

type endpointRow struct {
	ID             string
	URL            string
	Enabled        bool
	IncludeSpam    bool
	DisabledReason string
	FailingSince   time.Time // zero: not failing
	CreatedAt      time.Time
}

// webhookView is the data of one endpoint's page: its settings, its
// secret (only when revealed) and its delivery log.
type webhookView struct {
	base
	FormID         string
	FormName       string
	ID             string
	URL            string // as stored, or as typed when it was refused
	Enabled        bool
	IncludeSpam    bool
	DisabledReason string
	FailingSince   time.Time
	CreatedAt      time.Time
	RotatingUntil  time.Time // the previous secret signs too until then; zero: no rotation under way
	Format         string
	Secret         string // set only by the reveal button's POST
	Error          string // about URL
	Deliveries     []deliveryRow
	FirstURL       string // the newest deliveries; "" when shown
	NextURL        string // older deliveries; "" on the last page
}

type deliveryRow struct {
	ID            string
	URL           string
	SubmissionID  string
	SubmissionURL string
	State         string
	Attempts      int
	LastStatus    int // 0: no answer
	LastError     string
	NextAttemptAt time.Time
	CreatedAt     time.Time
}

// deliveryView is the data of one delivery's page with its attempts.
type deliveryView struct {
	base
	deliveryRow
	MessageID    string
	Redeliveries int
	WebhookID    string
	WebhookURL   string
	FormID       string
	Problem      string // why a redelivery was refused
	AttemptLog   []attemptRow
	// Payload is what an attempt sends, rendered now (file links are
	// signed afresh at each attempt); "" when the submission is gone.
	Payload string
}

type attemptRow struct {
	At        time.Time
	Status    int // 0: no answer
	LatencyMS int64
	Body      string // the first 4 KiB of the answer
	Error     string
}

// deliveriesPerPage is how many deliveries an endpoint's page lists.
const deliveriesPerPage = 50

func (d *Dashboard) webhooksPage(w http.ResponseWriter, r *http.Request) {
	f, err := d.formFor(r)
	if err != nil {
		d.error(w, r, err)
		return
	}
	d.renderWebhooks(w, r, http.StatusOK, f, webhooksView{})
}

func (d *Dashboard) renderWebhooks(w http.ResponseWriter, r *http.Request, status int, f *forms.Form, v webhooksView) {
	list, err := webhooks.List(r.Context(), d.DB, f.ID)
	if err != nil {
		d.error(w, r, err)
		return
	}
	v.FormID, v.FormName, v.Max, v.Formats = f.PublicID, f.Name, webhooks.MaxEndpointsPerForm, webhooks.Formats
	for _, e := range list {
		row := endpointRow{ID: e.PublicID, URL: e.URL, Enabled: e.Enabled, IncludeSpam: e.IncludeSpam,
			DisabledReason: e.DisabledReason, CreatedAt: e.CreatedAt}
		if e.FailingSince != nil {
			row.FailingSince = *e.FailingSince
		}
		v.Endpoints = append(v.Endpoints, row)
	}
	v.base = d.base(w, r, "Webhooks · "+f.Name, "forms", formCrumbs(f, crumb{Label: "Webhooks"})...)
	renderPage(d, w, r, status, tmplWebhooks, v)
}

func (d *Dashboard) createWebhook(w http.ResponseWriter, r *http.Request) {
	f, err := d.formFor(r)
	if !d.parseFormFor(w, r, err) {
		return
	}
	u := strings.TrimSpace(r.PostFormValue("url"))
	spam := r.PostFormValue("include_spam") != ""
	format := r.PostFormValue("format")
	in := webhooks.Input{URL: &u, IncludeSpam: &spam, Format: &format}
	chat := strings.TrimSpace(r.PostFormValue("chat_id"))
	if format == string(webhooks.FormatTelegram) {
		token := strings.TrimSpace(r.PostFormValue("bot_token"))
		in.URL, in.BotToken, in.ChatID = nil, &token, &chat
	}
	e, secret, err := webhooks.Create(r.Context(), d.DB, d.Sealer, d.WebhookURLs, d.actor(r), f, in)
	if status, msg, ok := urlProblem(err); ok {
		d.renderWebhooks(w, r, status, f, webhooksView{URL: u, Format: format, ChatID: chat, IncludeSpam: spam, Error: msg})
		return
	}
	if err != nil {
		d.error(w, r, err)
		return
	}
	d.redirect(w, r, "/webhooks/"+e.PublicID, flash{Kind: flashSuccess,
		Message: "Webhook added. Copy its signing secret now and give it to your receiver: this page does not show it again unless you reveal it.",
		Secret:  secret, SecretLabel: "Signing secret"})
}

// urlProblem returns the status and the message of an endpoint refused
// for its URL, or for the form's limit, shown beside the URL field.
func urlProblem(err error) (int, string, bool) {
	var verr *forms.ValidationError
	switch {
	case errors.Is(err, webhooks.ErrURLTaken):
		return http.StatusConflict, "This form already sends to this URL (capitals in the scheme and host, a default port or a #fragment make no difference). Change that endpoint instead.", true
	case errors.Is(err, webhooks.ErrEndpointLimit):
		return http.StatusConflict, "A form can have at most " + strconv.Itoa(webhooks.MaxEndpointsPerForm) +
			" webhook endpoints, and this one has that many or more. Delete one it no longer needs first.", true
	case !errors.As(err, &verr) || len(verr.Errors) == 0:
		return 0, "", false
	case verr.Errors[0].Field != "url":
		// The format and a telegram endpoint's bot and chat say their own.
		msg := make([]string, len(verr.Errors))
		for i, fe := range verr.Errors {
			msg[i] = strings.ToUpper(fe.Message[:1]) + fe.Message[1:] + "."
		}
		return http.StatusUnprocessableEntity, strings.Join(msg, " "), true
	case verr.Errors[0].Rule == webhooks.RulePublicAddress:
		// "url points to 127.0.0.1, loopback …" → "This URL points to …"
		return http.StatusUnprocessableEntity, "This URL" + strings.TrimPrefix(verr.Errors[0].Message, "url") + ".", true
	}
	return http.StatusUnprocessableEntity, "Enter an absolute http or https URL without a user name or password, such as https://example.com/hooks/intake.", true
}

// webhookCrumbs are the crumbs of a page about the endpoint e of the form
// f: the endpoint's own page, or with more the pages under it.
func webhookCrumbs(f *forms.Form, e *webhooks.Endpoint, more ...crumb) []crumb {
	host := crumb{Label: e.Hostname()}
	if len(more) > 0 {
		host.URL = "/webhooks/" + e.PublicID
	}
	return formCrumbs(f, append([]crumb{{Label: "Webhooks", URL: "/forms/" + f.PublicID + "/webhooks"}, host}, more...)...)
}

// endpointFor returns the account's endpoint named by the URL and its form.
func (d *Dashboard) endpointFor(r *http.Request) (*webhooks.Endpoint, *forms.Form, error) {
	e, err := webhooks.ForAccount(r.Context(), d.DB, user(r).AccountID, chi.URLParam(r, "wh_id"))
	if err != nil {
		return nil, nil, err
	}
	f, err := forms.ForAccount(r.Context(), d.DB, user(r).AccountID, e.FormPublicID)
	if err != nil {
		return nil, nil, err
	}
	return e, f, nil
}

func (d *Dashboard) webhookPage(w http.ResponseWriter, r *http.Request) {
	e, f, err := d.endpointFor(r)
	if err != nil {
		d.error(w, r, err)
		return
	}
	d.renderWebhook(w, r, http.StatusOK, e, f, webhookView{URL: e.URL})
}

func (d *Dashboard) renderWebhook(w http.ResponseWriter, r *http.Request, status int, e *webhooks.Endpoint, f *forms.Form, v webhookView) {
	var before *int64
	if c := r.URL.Query().Get("before"); c != "" {
		b, err1 := base64.RawURLEncoding.DecodeString(c)
		n, err2 := strconv.ParseInt(string(b), 10, 64)
		if err1 == nil && err2 == nil {
			before = &n
			v.FirstURL = "/webhooks/" + e.PublicID
		}
	}
	list, err := webhooks.Deliveries(r.Context(), d.DB, e.ID, before, deliveriesPerPage+1)
	if err != nil {
		d.error(w, r, err)
		return
	}
	if len(list) > deliveriesPerPage {
		list = list[:deliveriesPerPage]
		v.NextURL = "/webhooks/" + e.PublicID + "?before=" +
			base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(list[deliveriesPerPage-1].ID, 10)))
	}
	for _, dl := range list {
		v.Deliveries = append(v.Deliveries, d.deliveryRow(f, dl))
	}
	v.FormID, v.FormName, v.ID, v.Format = f.PublicID, f.Name, e.PublicID, string(e.Format)
	v.Enabled, v.IncludeSpam, v.DisabledReason, v.CreatedAt = e.Enabled, e.IncludeSpam, e.DisabledReason, e.CreatedAt
	if e.FailingSince != nil {
		v.FailingSince = *e.FailingSince
	}
	if e.Rotating(time.Now()) {
		v.RotatingUntil = *e.PreviousSecretExpiresAt
	}
	v.base = d.base(w, r, "Webhook · "+f.Name, "forms", webhookCrumbs(f, e)...)
	renderPage(d, w, r, status, tmplWebhook, v)
}

func (d *Dashboard) deliveryRow(f *forms.Form, dl *webhooks.Delivery) deliveryRow {
	sub := submissions.FormatID(dl.SubmissionID)
	row := deliveryRow{ID: dl.PublicID, URL: "/deliveries/" + dl.PublicID, SubmissionID: sub,
		SubmissionURL: "/forms/" + f.PublicID + "/submissions/" + sub, State: dl.State, Attempts: dl.Attempts,
		LastError: dl.LastError, CreatedAt: dl.CreatedAt}
	if dl.LastStatus != nil {
		row.LastStatus = *dl.LastStatus
	}
	if dl.NextAttemptAt != nil && (dl.State == webhooks.StatePending || dl.State == webhooks.StateRetrying) {
		row.NextAttemptAt = *dl.NextAttemptAt
	}
	return row
}

func (d *Dashboard) updateWebhook(w http.ResponseWriter, r *http.Request) {
	e, f, err := d.endpointFor(r)
	if !d.parseFormFor(w, r, err) {
		return
	}
	u := strings.TrimSpace(r.PostFormValue("url"))
	enabled, spam := r.PostFormValue("enabled") != "", r.PostFormValue("include_spam") != ""
	_, err = webhooks.Update(r.Context(), d.DB, d.WebhookURLs, d.actor(r), e, webhooks.Input{URL: &u, Enabled: &enabled, IncludeSpam: &spam})
	if status, msg, ok := urlProblem(err); ok {
		d.renderWebhook(w, r, status, e, f, webhookView{URL: u, Error: msg})
		return
	}
	if err != nil {
		d.error(w, r, err)
		return
	}
	d.redirect(w, r, "/webhooks/"+e.PublicID, flash{Kind: flashSuccess, Message: "Webhook saved."})
}

func (d *Dashboard) setWebhookEnabled(enabled bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		e, _, err := d.endpointFor(r)
		if err == nil {
			_, err = webhooks.Update(r.Context(), d.DB, d.WebhookURLs, d.actor(r), e, webhooks.Input{Enabled: &enabled})
		}
		if _, msg, ok := urlProblem(err); ok {
			d.redirect(w, r, "/webhooks/"+e.PublicID, flash{Kind: flashError, Message: "Not enabled. " + msg})
			return
		}
		if err != nil {
			d.error(w, r, err)
			return
		}
		msg := "Webhook disabled: new submissions are not sent to it."
		if enabled {
			msg = "Webhook enabled: new submissions are sent to it. Redeliver the ones it missed from the log below."
		}
		d.redirect(w, r, "/webhooks/"+e.PublicID, flash{Kind: flashSuccess, Message: msg})
	}
}

// revealSecret shows the endpoint's secret on its page. It changes
// nothing, but is a POST so that the secret is never in a URL, a history
// entry or a page fetched by a prefetcher.
func (d *Dashboard) revealSecret(w http.ResponseWriter, r *http.Request) {
	e, f, err := d.endpointFor(r)
	if err != nil {
		d.error(w, r, err)
		return
	}
	secret, err := d.Sealer.Open(e.Secret, e.PublicID)
	if err != nil {
		d.error(w, r, err)
		return
	}
	d.renderWebhook(w, r, http.StatusOK, e, f, webhookView{URL: e.URL, Secret: secret})
}

// confirmEndpoint asks before an action on the endpoint named by the URL:
// the page posts to action under the endpoint's page, or goes back to it.
// ask words the question about e; the page's title is its button's words,
// and label is its last crumb.
func (d *Dashboard) confirmEndpoint(w http.ResponseWriter, r *http.Request, action, label string, ask func(e *webhooks.Endpoint) confirmView) {
	e, f, err := d.endpointFor(r)
	if err != nil {
		d.error(w, r, err)
		return
	}
	v := ask(e)
	v.base = d.base(w, r, v.Button, "forms", webhookCrumbs(f, e, crumb{Label: label})...)
	page := "/webhooks/" + e.PublicID
	v.Action, v.CancelURL = page+"/"+action, page
	renderPage(d, w, r, http.StatusOK, tmplConfirm, v)
}

func (d *Dashboard) confirmRotate(w http.ResponseWriter, r *http.Request) {
	d.confirmEndpoint(w, r, "rotate", "Rotate secret", func(e *webhooks.Endpoint) confirmView {
		return confirmView{Button: "Rotate secret",
			Heading: "Rotate the signing secret of " + e.Hostname() + "?",
			Message: "A new secret signs every delivery from now on. For 24 hours the old one signs too (both signatures are sent), " +
				"so your receiver keeps working while you switch it to the new secret."}
	})
}

func (d *Dashboard) rotateSecret(w http.ResponseWriter, r *http.Request) {
	e, _, err := d.endpointFor(r)
	var secret string
	if err == nil {
		e, secret, err = webhooks.Rotate(r.Context(), d.DB, d.Sealer, d.actor(r), e)
	}
	if err != nil {
		d.error(w, r, err)
		return
	}
	d.redirect(w, r, "/webhooks/"+e.PublicID, flash{Kind: flashSuccess,
		Message: "Secret rotated. The old secret keeps signing alongside the new one for 24 hours: switch your receiver within that time.",
		Secret:  secret, SecretLabel: "New signing secret"})
}

func (d *Dashboard) confirmDeleteWebhook(w http.ResponseWriter, r *http.Request) {
	d.confirmEndpoint(w, r, "delete", "Delete", func(e *webhooks.Endpoint) confirmView {
		return confirmView{Button: "Delete webhook",
			Heading: "Delete the webhook to " + e.Hostname() + "?",
			Message: "Nothing more is sent to " + e.Origin() + ", deliveries still queued are cancelled, and its delivery log is deleted. " +
				"To pause it instead, disable it."}
	})
}

func (d *Dashboard) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	e, f, err := d.endpointFor(r)
	if err == nil {
		err = webhooks.Delete(r.Context(), d.DB, d.actor(r), e)
	}
	if err != nil {
		d.error(w, r, err)
		return
	}
	d.redirect(w, r, "/forms/"+f.PublicID+"/webhooks", flash{Kind: flashSuccess, Message: "Webhook deleted."})
}

// Deliveries

func (d *Dashboard) deliveryPage(w http.ResponseWriter, r *http.Request) {
	d.renderDelivery(w, r, http.StatusOK, "")
}

func (d *Dashboard) renderDelivery(w http.ResponseWriter, r *http.Request, status int, problem string) {
	ctx := r.Context()
	dl, err := webhooks.DeliveryForAccount(ctx, d.DB, user(r).AccountID, chi.URLParam(r, "dlv_id"))
	if err != nil {
		d.error(w, r, err)
		return
	}
	e, err := webhooks.ForAccount(ctx, d.DB, user(r).AccountID, dl.EndpointPublicID)
	if err != nil {
		d.error(w, r, err)
		return
	}
	f, err := forms.ForAccount(ctx, d.DB, user(r).AccountID, e.FormPublicID)
	if err != nil {
		d.error(w, r, err)
		return
	}
	attempts, err := webhooks.Attempts(ctx, d.DB, dl.ID)
	if err != nil {
		d.error(w, r, err)
		return
	}
	v := deliveryView{deliveryRow: d.deliveryRow(f, dl), MessageID: dl.MessageID, Redeliveries: dl.Redeliveries,
		WebhookID: e.PublicID, WebhookURL: e.URL, FormID: f.PublicID, Problem: problem}
	for _, a := range attempts {
		v.AttemptLog = append(v.AttemptLog, attemptRow{At: a.At, Status: a.Status, LatencyMS: a.Latency.Milliseconds(), Body: a.ResponseBody, Error: a.Error})
	}
	v.Payload = d.payload(ctx, e, dl)
	v.base = d.base(w, r, "Delivery · "+f.Name, "forms", webhookCrumbs(f, e, crumb{Label: "Delivery"})...)
	renderPage(d, w, r, status, tmplDelivery, v)
}

// redeliver sends a delivery once more, with the same webhook-id. A
// disabled endpoint refuses (409), and the delivery's page says why.
func (d *Dashboard) redeliver(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	dl, err := webhooks.DeliveryForAccount(ctx, d.DB, user(r).AccountID, chi.URLParam(r, "dlv_id"))
	if err == nil {
		err = webhooks.Redeliver(ctx, d.DB, d.River, d.actor(r), dl)
	}
	if errors.Is(err, webhooks.ErrDisabled) {
		d.renderDelivery(w, r, http.StatusConflict,
			"This webhook is disabled, so nothing can be sent to it. Enable it on the webhook’s page, then redeliver.")
		return
	}
	if err != nil {
		d.error(w, r, err)
		return
	}
	d.redirect(w, r, "/deliveries/"+dl.PublicID, flash{Kind: flashSuccess,
		Message: "Redelivery queued: it is sent within seconds, with the same webhook-id, so your receiver can tell it is a repeat."})
}

// testWebhook sends the endpoint one made-up event in its format now and
// says what its receiver answered; nothing is stored.
func (d *Dashboard) testWebhook(w http.ResponseWriter, r *http.Request) {
	e, f, err := d.endpointFor(r)
	if err != nil {
		d.error(w, r, err)
		return
	}
	back := "/webhooks/" + e.PublicID
	if d.Webhooks == nil {
		d.redirect(w, r, back, flash{Kind: flashError, Message: "This server sends no webhooks."})
		return
	}
	a, err := d.Webhooks.Test(r.Context(), e, f)
	if intake.KindOf(err) == intake.Limited {
		d.redirect(w, r, back, flash{Kind: flashError, Message: intake.Describe(err).Detail})
		return
	}
	if err != nil {
		d.error(w, r, err)
		return
	}
	switch {
	case a.Error == "" && a.Status >= 200 && a.Status < 300:
		d.redirect(w, r, back, flash{Kind: flashSuccess, Message: fmt.Sprintf("Test event delivered: the receiver answered %d in %d ms.", a.Status, a.Latency.Milliseconds())})
	case a.Error != "":
		d.redirect(w, r, back, flash{Kind: flashError, Message: "The test event was not delivered: " + a.Error})
	default:
		d.redirect(w, r, back, flash{Kind: flashError, Message: fmt.Sprintf("The test event was not delivered: the receiver answered %d %s", a.Status, truncate(a.ResponseBody, 200))})
	}
}

// payload is the body an attempt of dl sends to e, rendered as its worker
// renders it, indented for reading; "" when it cannot be (the submission
// was deleted, or this dashboard sends no webhooks).
func (d *Dashboard) payload(ctx context.Context, e *webhooks.Endpoint, dl *webhooks.Delivery) string {
	if d.Webhooks == nil {
		return ""
	}
	sub, err := submissions.ByID(ctx, d.DB, dl.SubmissionID)
	if err != nil {
		return ""
	}
	body, err := d.Webhooks.Render(ctx, e, sub)
	if err != nil {
		return ""
	}
	var out bytes.Buffer
	if json.Indent(&out, body, "", "  ") != nil {
		return string(body)
	}
	return out.String()
}
