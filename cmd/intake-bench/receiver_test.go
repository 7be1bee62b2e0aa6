package main

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/intakehq/intake/webhooks"
)

// The official Standard Webhooks test vector (REFERENCE.md §2.2) and its
// negative cases.
func TestValidSignature(t *testing.T) {
	t.Parallel()
	key, _ := base64.StdEncoding.DecodeString("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	id, ts, body := "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", []byte(`{"test": 2432232314}`)
	good := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	wrong := "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="
	for _, tc := range []struct {
		header string
		want   bool
	}{
		{good, true},
		{wrong, false},
		{"v1,", false},
		{"", false},
		{"v1," + wrong[3:] + " v2," + good[3:] + " " + good + " " + wrong, true},
		{"v2," + good[3:], false},
	} {
		if got := validSignature(key, id, ts, body, tc.header); got != tc.want {
			t.Errorf("validSignature(%q) = %v, want %v", tc.header, got, tc.want)
		}
	}
	if validSignature(key, id, "1614265331", body, good) {
		t.Error("a signature verified with another timestamp")
	}
}

func TestCheckArrival(t *testing.T) {
	t.Parallel()
	key := []byte("0123456789abcdef0123456789abcdef")
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"type":"submission.created","timestamp":"2027-01-15T08:00:00Z","data":{"id":"sub_1","data":{"message":"ibabcd-7 lorem ipsum"}}}`)
	// Signed by Intake's own signer: the receiver must accept what it sends.
	secret := "whsec_" + base64.StdEncoding.EncodeToString(key)
	sign := func(id, ts string) http.Header {
		sec, _ := strconv.ParseInt(ts, 10, 64)
		signature, err := webhooks.Sign(secret, id, sec, body)
		if err != nil {
			t.Fatal(err)
		}
		h := http.Header{}
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", ts)
		h.Set("webhook-signature", signature)
		return h
	}
	if a := check(sign("msg_1", "1800000000"), body, key, now); a.problem != "" || a.token != "ibabcd-7" || a.id != "msg_1" {
		t.Errorf("a good request: %+v", a)
	}
	if a := check(sign("msg_1", "1799999000"), body, key, now); !strings.Contains(a.problem, "more than 5m0s from now") {
		t.Errorf("an old timestamp: %+v", a)
	}
	h := sign("msg_1", "1800000000")
	h.Set("webhook-id", "msg_2")
	if a := check(h, body, key, now); !strings.Contains(a.problem, "no v1 signature verifies") {
		t.Errorf("a signature of another id: %+v", a)
	}
	h.Del("webhook-signature")
	if a := check(h, body, key, now); !strings.Contains(a.problem, "missing") {
		t.Errorf("no signature: %+v", a)
	}
}

// TestCheckWebhooks judges arrivals against stored submissions: each way
// to break the promise is caught, and a repeat under one id is fine.
func TestCheckWebhooks(t *testing.T) {
	t.Parallel()
	v := &Verdict{spam: map[string]bool{"t1": false, "t2": false, "t3": false, "t4": false, "spam1": true}}
	v.CheckWebhooks([]arrival{
		{id: "m1", token: "t1"}, {id: "m1", token: "t1"}, // a redelivery: fine
		{id: "m2", token: "t2"}, {id: "m2b", token: "t2"}, // another id for t2
		{id: "m4", token: "t4"}, {id: "m4", token: "t3"}, // t3 under t4's id
		{id: "m5", token: "spam1"}, // spam is not delivered
		{id: "m6", token: "t1", problem: "bad signature"},
	})
	w := v.Webhooks
	if w.Good() || v.Good() {
		t.Fatalf("a bad delivery record judged good: %+v", w)
	}
	check := func(name string, got, want []string) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	check("Missing", w.Missing, nil)
	check("Unstable", w.Unstable, []string{"t1: m1, m6", "t2: m2, m2b"})
	check("Shared", w.Shared, []string{"m4: t3, t4"})
	check("BadRequest", w.BadRequest, []string{"m6 (t1): bad signature"})
	check("Unexpected", w.Unexpected, []string{`m5 (token "spam1")`})
	if w.Expected != 4 || w.Delivered != 4 || w.Repeated != 2 || w.Arrivals != 8 {
		t.Errorf("counts: %+v", w)
	}

	v = &Verdict{spam: map[string]bool{"t1": false, "t2": false}}
	v.CheckWebhooks([]arrival{{id: "m1", token: "t1"}, {id: "m1", token: "t1"}})
	check("Missing", v.Webhooks.Missing, []string{"t2"})
}
