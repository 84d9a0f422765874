package bench

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// The plot's geometry, in SVG user units: cells of three columns and two
// rows, each a panel but the last, which holds the caption.
const (
	svgCols, svgRows   = 3, 2
	svgCellW, svgCellH = 320, 240
	svgTop             = 40 // the title's band
	svgLeft, svgRight  = 62, 18
	svgPanelTop        = 34 // a panel's title above its plot
	svgBottom          = 44 // the x axis's labels and name
)

// scaleMetric is one panel: a figure of each size, and whether the size
// has it.
type scaleMetric struct {
	title string
	value func(p *ScalePoint) float64
	has   func(p *ScalePoint) bool
}

var scaleMetrics = []scaleMetric{
	{"ingest with validation, records/s", func(p *ScalePoint) float64 { return p.IngestPerSec }, func(p *ScalePoint) bool { return p.Records > 0 }},
	{"bytes on disk per record", func(p *ScalePoint) float64 { return p.BytesPerRecord }, func(p *ScalePoint) bool { return p.Records > 0 }},
	{"timeline heap bytes per visit", func(p *ScalePoint) float64 { return p.TimelineBytesPerVisit }, func(p *ScalePoint) bool { return p.TimelineVisits > 0 && p.TimelineBytesPerVisit > 0 }},
	{"contacts p99, ms (store)", func(p *ScalePoint) float64 { return p.Contacts.P99 }, func(p *ScalePoint) bool { return p.ContactQueries > 0 }},
	{"depth-3 chain p99, ms (timeline)", func(p *ScalePoint) float64 { return p.Chain.P99 }, func(p *ScalePoint) bool { return p.ChainQueries > 0 }},
}

// WriteScaleSVG writes r as an SVG plot: small multiples, one panel per
// cost, each against the records of the city on a log axis, every point
// labelled with its figure. The same result always gives the same bytes.
func WriteScaleSVG(w io.Writer, r *ScaleResult) error {
	sizes := slices.Clone(r.Sizes)
	slices.SortStableFunc(sizes, func(a, b ScalePoint) int { return a.Records - b.Records })
	width, height := svgCols*svgCellW, svgTop+svgRows*svgCellH
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	svgText(&b, float64(width)/2, 24, "middle", `font-size="15" font-weight="bold"`, "epiledger bench scale: the cost curve")

	xlo, xhi := logRange(sizes)
	for i, m := range scaleMetrics {
		x0, y0 := float64(i%svgCols*svgCellW), float64(svgTop+i/svgCols*svgCellH)
		writePanel(&b, x0, y0, m, sizes, xlo, xhi)
	}
	// The caption, in the last cell.
	x0, y0 := float64((svgCols*svgRows-1)%svgCols*svgCellW+svgLeft/2), float64(svgTop+(svgRows-1)*svgCellH+svgPanelTop)
	days := "days"
	if len(sizes) > 0 {
		days = fmt.Sprintf("%d days", sizes[0].Days)
	}
	lines := []string{
		fmt.Sprintf("cities of %s, seed %d", days, r.Seed),
		"x: signed records of the city (log scale)",
		"",
	}
	for _, p := range sizes {
		lines = append(lines, fmt.Sprintf("%s people: %s records", thousands(float64(p.People)), thousands(float64(p.Records))))
	}
	lines = append(lines, "", r.Machine)
	if r.LoadAverage != "" {
		lines = append(lines, "load average at the start: "+r.LoadAverage)
	}
	for i, l := range lines {
		svgText(&b, x0, y0+float64(i)*15, "start", "", l)
	}
	b.WriteString("</svg>\n")
	_, err := w.Write(b.Bytes())
	return err
}

// writePanel draws metric m of sizes in the cell at (x0, y0), records on
// a log axis from 10^xlo to 10^xhi.
func writePanel(b *bytes.Buffer, x0, y0 float64, m scaleMetric, sizes []ScalePoint, xlo, xhi float64) {
	left, right := x0+svgLeft, x0+svgCellW-svgRight
	top, bottom := y0+svgPanelTop, y0+svgCellH-svgBottom
	svgText(b, (left+right)/2, y0+18, "middle", `font-weight="bold"`, m.title)
	fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#999"/>`+"\n", left, top, right-left, bottom-top)

	var xs, vs []float64
	for i := range sizes {
		if p := &sizes[i]; m.has(p) {
			xs, vs = append(xs, math.Log10(float64(max(p.Records, 1)))), append(vs, m.value(p))
		}
	}
	px := func(lx float64) float64 { return left + (lx-xlo)/(xhi-xlo)*(right-left) }
	for _, t := range logTicks(xlo, xhi) {
		x := px(math.Log10(t))
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", x, top, x, bottom)
		svgText(b, x, bottom+14, "middle", "", compact(t))
	}
	svgText(b, (left+right)/2, bottom+30, "middle", `fill="#555"`, "records")
	if len(vs) == 0 {
		svgText(b, (left+right)/2, (top+bottom)/2, "middle", `fill="#555"`, "not measured")
		return
	}
	ylo, yhi, step := linearTicks(slices.Min(vs), slices.Max(vs))
	py := func(v float64) float64 { return bottom - (v-ylo)/(yhi-ylo)*(bottom-top) }
	for k := 0; ylo+float64(k)*step <= yhi+step/2; k++ {
		v := ylo + float64(k)*step
		y := py(v)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", left, y, right, y)
		svgText(b, left-4, y+4, "end", "", tick(v, step))
	}
	var pts []string
	for i := range vs {
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(xs[i]), py(vs[i])))
	}
	fmt.Fprintf(b, `<polyline points="%s" fill="none" stroke="#1f5fa8" stroke-width="1.5"/>`+"\n", strings.Join(pts, " "))
	for i := range vs {
		x, y := px(xs[i]), py(vs[i])
		fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="3" fill="#1f5fa8"/>`+"\n", x, y)
		svgText(b, x, y-7, "middle", `font-weight="bold"`, figure(vs[i]))
	}
}

// svgText writes a text element at (x, y), its content escaped.
func svgText(b *bytes.Buffer, x, y float64, anchor, attrs, s string) {
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="%s"`, x, y, anchor)
	if attrs != "" {
		b.WriteString(" " + attrs)
	}
	b.WriteString(">")
	xml.EscapeText(b, []byte(s))
	b.WriteString("</text>\n")
}

// logRange is the x axis of sizes, in log10 of records: their range with
// a margin, at least a decade wide.
func logRange(sizes []ScalePoint) (lo, hi float64) {
	if len(sizes) == 0 {
		return 0, 1
	}
	lo, hi = math.Log10(float64(max(sizes[0].Records, 1))), math.Log10(float64(max(sizes[len(sizes)-1].Records, 1)))
	pad := max(0.12*(hi-lo), 0.15)
	if span := hi - lo + 2*pad; span < 1 {
		pad += (1 - span) / 2
	}
	return lo - pad, hi + pad
}

// logTicks are the ticks of a log axis from 10^lo to 10^hi: the powers of
// ten, and 2 and 5 times them when the axis spans under three decades.
func logTicks(lo, hi float64) []float64 {
	mults := []float64{1}
	if hi-lo < 3 {
		mults = []float64{1, 2, 5}
	}
	var out []float64
	for k := math.Floor(lo); k <= math.Ceil(hi); k++ {
		for _, m := range mults {
			if t := m * math.Pow(10, k); math.Log10(t) >= lo && math.Log10(t) <= hi {
				out = append(out, t)
			}
		}
	}
	return out
}

// linearTicks is a linear axis holding lo and hi and zero: its ends and a
// step of 1, 2 or 5 times a power of ten, four or five steps.
func linearTicks(lo, hi float64) (from, to, step float64) {
	lo, hi = min(lo, 0), max(hi, 0)
	if hi == lo {
		hi = lo + 1
	}
	raw := (hi - lo) / 4
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step = 10 * mag
	for _, m := range []float64{1, 2, 2.5, 5} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	return math.Floor(lo/step) * step, math.Ceil(hi/step) * step, step
}

// figure formats a point's value or a tick: thousands separated from 1,000
// up, three significant digits or more below.
func figure(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1000:
		return thousands(v)
	case a >= 100 || a == 0:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// tick formats a tick of a linear axis of steps step: with as many
// decimals as the step needs, thousands separated from 1,000 up.
func tick(v, step float64) string {
	if math.Abs(v) >= 1000 {
		return thousands(v)
	}
	d := 0
	for s := step; s != math.Trunc(s) && d < 6; s *= 10 {
		d++
	}
	return strconv.FormatFloat(v, 'f', d, 64)
}

// thousands formats v rounded to a whole number, its thousands separated
// by commas.
func thousands(v float64) string {
	s := strconv.FormatFloat(math.Abs(math.Round(v)), 'f', 0, 64)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if math.Round(v) < 0 {
		s = "-" + s
	}
	return s
}

// compact formats a tick of records: 500, 2k, 10k, 1M.
func compact(v float64) string {
	switch {
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'g', -1, 64) + "M"
	case v >= 1e3:
		return strconv.FormatFloat(v/1e3, 'g', -1, 64) + "k"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
