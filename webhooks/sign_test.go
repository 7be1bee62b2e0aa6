package webhooks_test

import (
	"errors"
	"testing"

	"github.com/intakehq/intake/webhooks"
)

func TestSignStandardWebhooksVectors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, secret, id string
		ts               int64
		body, want       string
	}{
		// The official vector of the Standard Webhooks libraries.
		{"official", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
			`{"test": 2432232314}`, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="},
		{"whitespace matters", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
			`{"test":2432232314}`, "v1,Vif40peJBP7Iyl0XGmu61n4MwdrcHov5CFREBpE0svs="},
		{"timestamp matters", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265331,
			`{"test": 2432232314}`, "v1,l6C9/1+N/lSU6+gfh+YEGqTK2aQ+k8nMEWDvvCgHh7U="},
	} {
		got, err := webhooks.Sign(tc.secret, tc.id, tc.ts, []byte(tc.body))
		if err != nil || got != tc.want {
			t.Errorf("%s: Sign = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	if _, err := webhooks.Sign("whsec_!!!", "id", 1, nil); !errors.Is(err, webhooks.ErrBadSecret) {
		t.Errorf("a bad secret: %v, want ErrBadSecret", err)
	}
}
