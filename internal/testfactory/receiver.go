package testfactory

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// Receiver is a webhook endpoint on loopback that records what it got and
// answers as told.
type Receiver struct {
	*httptest.Server
	mu       sync.Mutex
	got      []Received
	Answers  []int                                                    // status per request in order; then 200
	OnArrive func(n int, w http.ResponseWriter, r *http.Request) bool // true: it answered
}

// Received is one request a Receiver got.
type Received struct {
	ID, Timestamp, Signature string
	Body                     []byte
}

// NewReceiver starts a Receiver, closed when t ends. Set its Answers and
// OnArrive before the first request.
func NewReceiver(t testing.TB) *Receiver {
	rc := &Receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, Received{r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature"), body})
		n := len(rc.got)
		status := http.StatusOK
		if n <= len(rc.Answers) {
			status = rc.Answers[n-1]
		}
		hook := rc.OnArrive
		rc.mu.Unlock()
		if hook != nil && hook(n, w, r) {
			return
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, "answer %d", n)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// Received returns the requests so far, in order.
func (rc *Receiver) Received() []Received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]Received(nil), rc.got...)
}

// Verify checks a signature header the way a receiver does, independently
// of webhooks.Sign: any v1 entry may match.
func Verify(secret string, r Received) bool {
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(r.ID + "." + r.Timestamp + "."))
	mac.Write(r.Body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, sig := range strings.Fields(r.Signature) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return true
		}
	}
	return false
}
