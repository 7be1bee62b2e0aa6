package main

import (
	"strings"
	"testing"
	"time"
)

func TestRescueStuckJobsAfter(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		value   string
		want    time.Duration
		wantErr bool
	}{
		{"", DefaultRescueStuckJobsAfter, false},
		{"1m", time.Minute, false},
		{"90s", 90 * time.Second, false},
		{"30s", 0, true},
		{"soon", 0, true},
	} {
		env := map[string]string{"INTAKE_RESCUE_STUCK_JOBS_AFTER": tc.value}
		cfg, err := configFromEnv(func(k string) string { return env[k] })
		switch {
		case tc.wantErr && (err == nil || !strings.Contains(err.Error(), "INTAKE_RESCUE_STUCK_JOBS_AFTER")):
			t.Errorf("%q: error %v, want one naming the variable", tc.value, err)
		case !tc.wantErr && (err != nil || cfg.RescueStuckJobsAfter != tc.want):
			t.Errorf("%q: %s, %v; want %s", tc.value, cfg.RescueStuckJobsAfter, err, tc.want)
		}
	}
}
