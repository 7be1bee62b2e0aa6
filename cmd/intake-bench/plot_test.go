package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"testing"
	"time"
)

func TestPlotSVG(t *testing.T) {
	t.Parallel()
	rows := []sweepRow{
		{clients: 1, intents: 310, p50: 3 * time.Millisecond, p99: 6 * time.Millisecond, ceiling: 700},
		{clients: 8, intents: 1200, p50: 7 * time.Millisecond, p99: 21 * time.Millisecond, ceiling: 2100},
		{clients: 64, intents: 1500, p50: 40 * time.Millisecond, p99: 95 * time.Millisecond, ceiling: 2400},
	}
	svg := plotSVG(rows, "a <caption> & more")
	if err := wellFormed(svg); err != nil {
		t.Fatalf("not well-formed: %v\n%s", err, svg)
	}
	for _, want := range []string{"concurrent clients (log scale)", "acknowledged intents per second", "p99 latency of new submissions (ms)",
		"naive SQL ceiling", "a &lt;caption&gt; &amp; more", `stroke-dasharray="6 4"`} {
		if !bytes.Contains(svg, []byte(want)) {
			t.Errorf("the plot lacks %q", want)
		}
	}
	// Without a ceiling there is no third series, and one row still draws.
	one := plotSVG([]sweepRow{{clients: 4, intents: 100, p99: time.Millisecond}}, "")
	if err := wellFormed(one); err != nil || bytes.Contains(one, []byte("naive SQL ceiling")) {
		t.Errorf("one row without a ceiling: %v\n%s", err, one)
	}
}

func TestNiceScale(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ v, step, top float64 }{
		{0, 1, 5}, {7, 2, 8}, {1234, 500, 1500}, {0.37, 0.1, 0.4}, {95, 20, 100},
	} {
		step, top := niceScale(tc.v)
		if step != tc.step || top != tc.top {
			t.Errorf("niceScale(%v) = %v, %v; want %v, %v", tc.v, step, top, tc.step, tc.top)
		}
	}
}

// wellFormed reports whether b parses as XML from start to end.
func wellFormed(b []byte) error {
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
