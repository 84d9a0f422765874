package bench

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the writers' output")

// scaleFixture is a result with fixed figures: three sizes, the first
// without a case (no chain), as bench scale prints them.
func scaleFixture() *ScaleResult {
	return &ScaleResult{Machine: "linux/amd64, 2 CPUs, go1.26.8", LoadAverage: "1.50 1.20 1.00", Seed: 1, Sizes: []ScalePoint{
		{People: 1000, Days: 14, Records: 63748, IngestPerSec: 35210.4, BytesPerRecord: 1102.6, TimelineVisits: 41000, TimelineBytesPerVisit: 91.3,
			ContactQueries: 200, Contacts: Latency{P50: 0.8, P99: 2.41}},
		{People: 3000, Days: 14, Records: 191244, Cases: 2, IngestPerSec: 38012.9, BytesPerRecord: 1051.2, TimelineVisits: 123000, TimelineBytesPerVisit: 76.8,
			ContactQueries: 200, Contacts: Latency{P50: 1.9, P99: 8.76}, ChainQueries: 2, Chain: Latency{P50: 12.5, P99: 31.25}},
		{People: 10000, Days: 14, Records: 637480, Cases: 5, IngestPerSec: 40450, BytesPerRecord: 1043, TimelineVisits: 410000, TimelineBytesPerVisit: 72.04,
			ContactQueries: 200, Contacts: Latency{P50: 3.26, P99: 25.44}, ChainQueries: 5, Chain: Latency{P50: 95.5, P99: 412.7}},
	}}
}

// TestWriteScaleSVG holds the plot of fixed figures to its golden file
// (go test -run TestWriteScaleSVG -update rewrites them): the same result
// gives the same bytes, and they parse as XML.
func TestWriteScaleSVG(t *testing.T) {
	t.Parallel()
	one := scaleFixture()
	one.Sizes, one.LoadAverage = one.Sizes[2:], ""
	for _, tc := range []struct {
		name string
		res  *ScaleResult
	}{
		{"three-sizes", scaleFixture()},
		{"one-size", one},
		{"no-size", &ScaleResult{Machine: "a <machine> & more", Seed: 7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got bytes.Buffer
			if err := WriteScaleSVG(&got, tc.res); err != nil {
				t.Fatal(err)
			}
			checkXML(t, got.Bytes())
			golden := filepath.Join("testdata", "scale-"+tc.name+".svg.golden")
			if *update {
				if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("the plot differs from %s (go test -run TestWriteScaleSVG -update rewrites it):\n%s", golden, got.Bytes())
			}
		})
	}
}

// checkXML fails t unless b is one well-formed XML document.
func checkXML(t *testing.T, b []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("not XML: %v", err)
		}
	}
}

// TestScaleFigure: the labels of points and ticks.
func TestScaleFigure(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		v    float64
		want string
	}{
		{0, "0"}, {0.5, "0.50"}, {2.414, "2.41"}, {31.25, "31.2"}, {412.7, "413"}, {1043, "1,043"},
		{40450, "40,450"}, {1234567.8, "1,234,568"}, {-2500, "-2,500"}, {-12.5, "-12.5"},
	} {
		if got := figure(tc.v); got != tc.want {
			t.Errorf("figure(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

// TestScaleTick: the labels of a linear axis's ticks.
func TestScaleTick(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		v, step float64
		want    string
	}{
		{0, 20000, "0"}, {60000, 20000, "60,000"}, {75, 25, "75"}, {7.5, 2.5, "7.5"}, {0.3, 0.1, "0.3"}, {0.25, 0.05, "0.25"}, {-500, 500, "-500"},
	} {
		if got := tick(tc.v, tc.step); got != tc.want {
			t.Errorf("tick(%v, %v) = %q, want %q", tc.v, tc.step, got, tc.want)
		}
	}
}
