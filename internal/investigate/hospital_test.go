package investigate_test

import (
	"bufio"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/importer"
	"github.com/epiledger/epiledger/internal/investigate"
	"github.com/epiledger/epiledger/internal/testnode"
	"github.com/epiledger/epiledger/internal/timeline"
)

// hospitalDir is the SocioPatterns hospital ward data, read in place.
var hospitalDir = filepath.Join("..", "..", "..", "shared", "data", "sociopatterns", "hospital")

// rawWindow is one line "t i j" of the contact file.
type rawWindow struct {
	t    int64
	i, j string
}

func readHospital(t *testing.T) (windows []rawWindow, patients []string) {
	t.Helper()
	f, err := os.Open(filepath.Join(hospitalDir, "tij_hospital.dat"))
	if os.IsNotExist(err) {
		t.Skip("SocioPatterns data not present at " + hospitalDir)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) != 3 {
			t.Fatalf("line %q", sc.Text())
		}
		tt, err := strconv.ParseInt(fs[0], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		windows = append(windows, rawWindow{tt, fs[1], fs[2]})
	}
	// metadata_hospital.dat: "row id status" (or "id status"); PAT marks
	// a patient.
	m, err := os.ReadFile(filepath.Join(hospitalDir, "metadata_hospital.dat"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(m), "\n") {
		fs := strings.Fields(line)
		if len(fs) >= 2 && fs[len(fs)-1] == "PAT" {
			patients = append(patients, fs[len(fs)-2])
		}
	}
	return windows, patients
}

// TestChainHospital: on the SocioPatterns hospital ward (75 badges, 32,424
// twenty-second windows over four days, 29 patients), the chain from each
// patient at depth 1, 2 and 3 holds exactly the badges a brute-force
// time-respecting reachability over the raw windows finds (hop-bounded
// earliest arrival, Bellman-Ford over every window in both directions:
// a window [t-20, t] carries the infection from u to v if t is after u's
// exposure, exposing v at max(t-20, u's exposure)), with the same layer
// and earliest exposure for every badge.
func TestChainHospital(t *testing.T) {
	t.Parallel()
	windows, patients := readHospital(t)
	if len(patients) != 29 {
		t.Fatalf("%d patients in the metadata, want 29", len(patients))
	}
	start := time.Date(2010, 12, 6, 13, 0, 0, 0, time.FixedZone("CET", 3600)).Unix()
	var last int64
	for _, w := range windows {
		last = max(last, w.t)
	}
	from, to := start, start+last

	h, n := testnode.New(t, testnode.StoreOnly)
	f, err := os.Open(filepath.Join(hospitalDir, "tij_hospital.dat"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// A resident timeline, loaded before the import, follows it through
	// the store's tap; every chain is also run on it.
	ivr := resident(t, n, true, timeline.Options{IDsInStore: true}, func() {
		res, err := importer.New(h, importer.EngineSink{Node: n}).ImportSocioPatterns(f, importer.SocioPatterns{Start: time.Unix(start, 0), Device: "sociopatterns-hospital"})
		if err != nil || res.Rejected != 0 {
			t.Fatalf("import: %v %v", err, res.Rejections)
		}
	})
	iv := storeOnly(n)

	var totals [4]int
	var took time.Duration
	rc := testnode.Receipt(t, n)
	for _, pat := range patients {
		// e[k][badge]: earliest exposure within k windows.
		e := map[string]int64{pat: from}
		layer := map[string]int{pat: 0}
		for depth := 1; depth <= 3; depth++ {
			prev := make(map[string]int64, len(e))
			for k, v := range e {
				prev[k] = v
			}
			for _, w := range windows {
				end, begin := start+w.t, start+w.t-20
				for _, d := range [2][2]string{{w.i, w.j}, {w.j, w.i}} {
					u, v := d[0], d[1]
					xu, ok := prev[u]
					if !ok || end <= xu || v == pat {
						continue
					}
					x := max(begin, xu)
					if old, ok := e[v]; !ok || x < old {
						e[v] = x
					}
					if _, ok := layer[v]; !ok {
						layer[v] = depth
					}
				}
			}
			began := time.Now()
			g, err := iv.Chain(investigate.ChainQuery{Person: n.Pseud.Person(pat), From: from, To: to, Depth: depth, MinOverlap: -1})
			took += time.Since(began)
			if err != nil {
				t.Fatal(err)
			}
			gr, err := ivr.Chain(investigate.ChainQuery{Person: n.Pseud.Person(pat), From: from, To: to, Depth: depth, MinOverlap: -1})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(gr, g) {
				t.Fatalf("patient %s depth %d: the resident timeline's chain differs from the store's", pat, depth)
			}
			if len(g.Nodes) != len(e) {
				t.Fatalf("patient %s depth %d: %d persons, brute force %d", pat, depth, len(g.Nodes), len(e))
			}
			for _, nd := range g.Nodes {
				id, ok, err := n.RealID(rc, nd.Person)
				if err != nil || !ok {
					t.Fatalf("vault: %v %v", ok, err)
				}
				x, found := e[id]
				if !found || x != nd.Exposure || layer[id] != nd.Layer {
					t.Fatalf("patient %s depth %d: badge %s layer %d exposure %d; brute force %v layer %d exposure %d",
						pat, depth, id, nd.Layer, nd.Exposure, found, layer[id], x)
				}
			}
			totals[depth] += len(g.Nodes) - 1
		}
	}
	t.Logf("hospital, %d patients: mean persons reached at depth 1/2/3: %.1f / %.1f / %.1f; %d chains in %s",
		len(patients), float64(totals[1])/29, float64(totals[2])/29, float64(totals[3])/29, 3*len(patients), took.Round(time.Millisecond))
}
