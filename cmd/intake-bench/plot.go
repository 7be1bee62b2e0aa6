package main

import (
	"bytes"
	"fmt"
	"html"
	"math"
	"strconv"
	"time"
)

// The plot's canvas and the plotting area inside it, in SVG user units.
const (
	plotWidth  = 760.0
	plotHeight = 500.0
	plotLeft   = 80.0
	plotRight  = plotWidth - 80
	plotTop    = 50.0
	plotBottom = plotHeight - 130 // below: ticks, the axis title, the legend, the caption
)

// Series colours (the colour-blind-safe Okabe–Ito palette).
const (
	colourRate    = "#0072B2"
	colourCeiling = "#999999"
	colourP99     = "#D55E00"
)

// plotSVG draws the sweep: acknowledged intents per second (and the
// naive SQL ceiling when measured) on the left axis, p99 latency of new
// submissions on the right, against the number of clients on a log2 axis.
func plotSVG(rows []sweepRow, caption string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="12">`+"\n",
		plotWidth, plotHeight, plotWidth, plotHeight)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	text(&b, plotWidth/2, 28, "middle", 15, "Intake: throughput and p99 latency against concurrency")

	x := logAxis(rows)
	rateMax, p99Max, withCeiling := 0.0, 0.0, false
	for _, r := range rows {
		rateMax = max(rateMax, r.intents, r.ceiling)
		p99Max = max(p99Max, millis(r.p99))
		withCeiling = withCeiling || r.ceiling > 0
	}
	// A little headroom, so a point at the maximum is not on the frame.
	rateStep, rateTop := niceScale(rateMax * 1.05)
	p99Step, p99Top := niceScale(p99Max * 1.05)
	yRate := func(v float64) float64 { return plotBottom - v/rateTop*(plotBottom-plotTop) }
	yP99 := func(v float64) float64 { return plotBottom - v/p99Top*(plotBottom-plotTop) }

	// Grid and ticks: the left axis's ticks draw the grid; the right
	// axis's ticks are only marked on its edge.
	for i := 0; float64(i)*rateStep <= rateTop+rateStep/2; i++ {
		v := float64(i) * rateStep
		y := yRate(v)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e5e5e5"/>`+"\n", plotLeft, y, plotRight, y)
		text(&b, plotLeft-8, y+4, "end", 12, tickLabel(v, rateStep))
	}
	for i := 0; float64(i)*p99Step <= p99Top+p99Step/2; i++ {
		v := float64(i) * p99Step
		y := yP99(v)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"/>`+"\n", plotRight, y, plotRight+5, y, colourP99)
		text(&b, plotRight+8, y+4, "start", 12, tickLabel(v, p99Step))
	}
	for _, r := range rows {
		px := x(r.clients)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e5e5e5"/>`+"\n", px, plotTop, px, plotBottom)
		text(&b, px, plotBottom+18, "middle", 12, strconv.Itoa(r.clients))
	}
	fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#333"/>`+"\n",
		plotLeft, plotTop, plotRight-plotLeft, plotBottom-plotTop)

	// Axis titles.
	text(&b, (plotLeft+plotRight)/2, plotBottom+40, "middle", 13, "concurrent clients (log scale)")
	fmt.Fprintf(&b, `<text transform="translate(%.1f %.1f) rotate(-90)" text-anchor="middle" font-size="13" fill="%s">acknowledged intents per second</text>`+"\n",
		plotLeft-55, (plotTop+plotBottom)/2, colourRate)
	fmt.Fprintf(&b, `<text transform="translate(%.1f %.1f) rotate(90)" text-anchor="middle" font-size="13" fill="%s">p99 latency of new submissions (ms)</text>`+"\n",
		plotRight+55, (plotTop+plotBottom)/2, colourP99)

	// The series.
	var rate, ceil, p99 []point
	for _, r := range rows {
		rate = append(rate, point{x(r.clients), yRate(r.intents)})
		p99 = append(p99, point{x(r.clients), yP99(millis(r.p99))})
		if r.ceiling > 0 {
			ceil = append(ceil, point{x(r.clients), yRate(r.ceiling)})
		}
	}
	if withCeiling {
		series(&b, ceil, colourCeiling, "6 4", "circle")
	}
	series(&b, rate, colourRate, "", "circle")
	series(&b, p99, colourP99, "", "square")

	// Legend, under the x axis: the left axis's series on one row, the
	// right axis's on the next.
	type entry struct{ label, colour, dash, marker string }
	rowsOf := [][]entry{{{"Intake: acknowledged intents/s (left)", colourRate, "", "circle"}},
		{{"p99 of new submissions, ms (right)", colourP99, "", "square"}}}
	if withCeiling {
		rowsOf[0] = append(rowsOf[0], entry{"naive SQL ceiling, submissions/s (left)", colourCeiling, "6 4", "circle"})
	}
	for i, row := range rowsOf {
		y := plotBottom + 66 + float64(20*i)
		lx := plotLeft
		for _, e := range row {
			series(&b, []point{{lx, y}, {lx + 30, y}}, e.colour, e.dash, "")
			marker(&b, point{lx + 15, y}, e.colour, e.marker)
			text(&b, lx+38, y+4, "start", 12, e.label)
			lx += 300
		}
	}
	text(&b, plotWidth/2, plotHeight-12, "middle", 11, caption)
	b.WriteString("</svg>\n")
	return b.Bytes()
}

type point struct{ x, y float64 }

// logAxis maps a number of clients to x on a log2 scale spanning rows.
func logAxis(rows []sweepRow) func(int) float64 {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, r := range rows {
		lo, hi = min(lo, math.Log2(float64(r.clients))), max(hi, math.Log2(float64(r.clients)))
	}
	if hi <= lo { // one concurrency: centre it
		lo, hi = lo-1, hi+1
	}
	pad := (hi - lo) * 0.05
	lo, hi = lo-pad, hi+pad
	return func(c int) float64 {
		return plotLeft + (math.Log2(float64(c))-lo)/(hi-lo)*(plotRight-plotLeft)
	}
}

// niceScale picks a tick step of 1, 2 or 5 × 10^k giving about five ticks
// and the axis top, a whole number of steps at or above v.
func niceScale(v float64) (step, top float64) {
	if v <= 0 {
		return 1, 5
	}
	raw := v / 5
	exp := math.Pow(10, math.Floor(math.Log10(raw)))
	step = 10 * exp
	for _, m := range []float64{1, 2, 5} {
		if m*exp >= raw {
			step = m * exp
			break
		}
	}
	return step, math.Ceil(v/step) * step
}

// tickLabel prints v with as many decimals as step needs.
func tickLabel(v, step float64) string {
	return strconv.FormatFloat(v, 'f', max(0, int(-math.Floor(math.Log10(step)))), 64)
}

func series(b *bytes.Buffer, pts []point, colour, dash, mark string) {
	if len(pts) == 0 {
		return
	}
	b.WriteString(`<polyline fill="none" stroke-width="2" stroke="` + colour + `"`)
	if dash != "" {
		b.WriteString(` stroke-dasharray="` + dash + `"`)
	}
	b.WriteString(` points="`)
	for i, p := range pts {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(b, "%.1f,%.1f", p.x, p.y)
	}
	b.WriteString(`"/>` + "\n")
	if mark == "" {
		return
	}
	for _, p := range pts {
		marker(b, p, colour, mark)
	}
}

func marker(b *bytes.Buffer, p point, colour, shape string) {
	switch shape {
	case "circle":
		fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="4" fill="%s"/>`+"\n", p.x, p.y, colour)
	case "square":
		fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="8" height="8" fill="%s"/>`+"\n", p.x-4, p.y-4, colour)
	}
}

func text(b *bytes.Buffer, x, y float64, anchor string, size int, s string) {
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="%s" font-size="%d">%s</text>`+"\n", x, y, anchor, size, html.EscapeString(s))
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
