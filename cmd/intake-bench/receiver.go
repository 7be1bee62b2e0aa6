package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// arrival is one request the receiver took: a delivery attempt.
type arrival struct {
	id      string // webhook-id
	token   string // the intent's token, from the submission's message
	problem string // why the signature or the body does not check out; "" when they do
}

// receiver is the loopback webhook endpoint of a run. It checks each
// request as a Standard Webhooks consumer would, remembers it, and while
// stalled holds every request unanswered until it is released (or the
// sender gives up).
type receiver struct {
	srv *http.Server
	url string

	mu       sync.Mutex
	key      []byte // the endpoint's secret, decoded
	arrivals []arrival
	gate     chan struct{} // while stalled: closed on release
	held     int           // requests the current stall has held
}

// timestampTolerance is how far webhook-timestamp may be from the
// receiver's clock (the reference libraries' ±5 minutes).
const timestampTolerance = 5 * time.Minute

// startReceiver listens on a loopback port and serves until close.
func startReceiver() (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("webhook receiver: %w", err)
	}
	r := &receiver{url: "http://" + ln.Addr().String() + "/hooks/intake"}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go r.srv.Serve(ln)
	return r, nil
}

func (r *receiver) close() {
	r.release()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r.srv.Shutdown(ctx)
}

// setSecret gives the receiver the endpoint's whsec_ secret.
func (r *receiver) setSecret(secret string) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || !strings.HasPrefix(secret, "whsec_") || len(key) == 0 {
		return fmt.Errorf("the endpoint's secret %.10q… is not whsec_ followed by base64", secret)
	}
	r.mu.Lock()
	r.key = key
	r.mu.Unlock()
	return nil
}

// stall makes the receiver hold every request until release.
func (r *receiver) stall() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gate == nil {
		r.gate, r.held = make(chan struct{}), 0
	}
}

// release answers the held requests and ends the stall. It returns how
// many requests the stall held.
func (r *receiver) release() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gate != nil {
		close(r.gate)
		r.gate = nil
	}
	return r.held
}

// snapshot is every arrival so far.
func (r *receiver) snapshot() []arrival {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]arrival(nil), r.arrivals...)
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil {
		return // the sender went away mid-body: not an arrival
	}
	r.mu.Lock()
	a := check(req.Header, body, r.key, time.Now())
	r.arrivals = append(r.arrivals, a)
	gate := r.gate
	if gate != nil {
		r.held++
	}
	r.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-req.Context().Done():
			return // Intake timed out or was killed: it will try again
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// check verifies one request the Standard Webhooks way (headers,
// timestamp tolerance, a v1 HMAC-SHA256 of id.timestamp.body among the
// signatures) and finds the intent's token in its body.
func check(h http.Header, body, key []byte, now time.Time) arrival {
	a := arrival{id: h.Get("webhook-id")}
	var event struct {
		Type string `json:"type"`
		Data struct {
			Data struct {
				Message string `json:"message"`
			} `json:"data"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &event); err != nil {
		a.problem = "body is not JSON: " + err.Error()
		return a
	}
	if f := strings.Fields(event.Data.Data.Message); len(f) > 0 {
		a.token = f[0]
	}
	ts, sigs := h.Get("webhook-timestamp"), h.Get("webhook-signature")
	sec, err := strconv.ParseInt(ts, 10, 64)
	switch {
	case a.id == "" || ts == "" || sigs == "":
		a.problem = "a webhook-id, webhook-timestamp or webhook-signature header is missing"
	case event.Type != "submission.created":
		a.problem = fmt.Sprintf("event type %q, want submission.created", event.Type)
	case err != nil:
		a.problem = fmt.Sprintf("webhook-timestamp %q is not Unix seconds", ts)
	case now.Sub(time.Unix(sec, 0)).Abs() > timestampTolerance:
		a.problem = fmt.Sprintf("webhook-timestamp %s is more than %s from now", ts, timestampTolerance)
	case !validSignature(key, a.id, ts, body, sigs):
		a.problem = "no v1 signature verifies with the endpoint's secret"
	}
	return a
}

func validSignature(key []byte, id, ts string, body []byte, header string) bool {
	if len(key) == 0 {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, sig := range strings.Fields(header) {
		version, b64, ok := strings.Cut(sig, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err == nil && hmac.Equal(got, want) {
			return true
		}
	}
	return false
}

// registerReceiver makes r the form's webhook endpoint through the
// management API, with the API key the bench made, and hands r the
// endpoint's secret.
func registerReceiver(ctx context.Context, baseURL string, t *target, r *receiver) error {
	body, _ := json.Marshal(map[string]any{"url": r.url, "enabled": true})
	req, err := http.NewRequestWithContext(ctx, "POST", baseURL+"/api/v1/forms/"+t.publicID+"/webhooks", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+t.apiKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("register the webhook receiver: %w", err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("register the webhook receiver: POST /api/v1/forms/%s/webhooks answered %s: %s", t.publicID, resp.Status, answer)
	}
	var hook struct {
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal(answer, &hook); err != nil {
		return fmt.Errorf("register the webhook receiver: the answer is not a webhook: %w", err)
	}
	return r.setSecret(hook.Secret)
}
