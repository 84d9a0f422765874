package importer_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/importer"
	"github.com/epiledger/epiledger/internal/ndjson"
	"github.com/epiledger/epiledger/internal/sim"
)

// BenchmarkImport signs and pseudonymizes a simulated day of a city
// (importer.New into a Collector: no engine), on a home of HMAC
// pseudonyms (every chain before issue 13, point 7) and on one of VOPRF
// pseudonyms (a scalar multiplication per reference the cache has not
// seen): the cost of the VOPRF scheme on the authority's imports.
func BenchmarkImport(b *testing.B) {
	var world bytes.Buffer
	if _, err := sim.Generate(sim.Config{People: 2000, Days: 1, Seed: 1}, ndjson.NewWriter(&world)); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		hmac bool
	}{{"hmac", true}, {"voprf", false}} {
		b.Run(c.name, func(b *testing.B) {
			records := 0
			var el time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				h, err := home.Init(filepath.Join(b.TempDir(), fmt.Sprint("h", i)), home.InitOptions{ChainID: "bench", Region: "420100", HMACPseudonyms: c.hmac})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				res, err := importer.New(h, &importer.Collector{}).Import(bytes.NewReader(world.Bytes()))
				el += time.Since(start)
				if err != nil || res.Rejected != 0 {
					b.Fatalf("%v %+v", err, res)
				}
				records += res.Accepted
			}
			b.ReportMetric(float64(records)/el.Seconds(), "records/s")
		})
	}
}
