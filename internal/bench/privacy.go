package bench

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/client"
	"github.com/epiledger/epiledger/internal/privacy"
)

// PrivacyConfig says what `epiledger bench privacy` measures: seed 003's
// two tables (one computation vs the number of places with N
// participants, and vs the number of participants with M places), a
// phone-class participant (one core) at PhoneM places, the exposure check
// against RiskTokens risk tokens, and the protocol end to end through a
// node's API.
type PrivacyConfig struct {
	Places       []int // table 1 rows (m), with N participants
	N            int
	Participants []int // table 2 rows (n), with M places
	M            int
	PhoneM       int
	RiskTokens   int
	DeviceHours  int  // a device's visits checked (hour slots)
	Reps         int  // repetitions per figure; the median is reported
	API          bool // also run through a temporary node
	Log          io.Writer
}

// DefaultPrivacyConfig is the seed's setting plus this targets.
func DefaultPrivacyConfig() PrivacyConfig {
	return PrivacyConfig{Places: []int{10, 50, 100, 200, 500, 1000}, N: 20, Participants: []int{2, 5, 10, 20, 50, 100}, M: 50,
		PhoneM: 1000, RiskTokens: 10000, DeviceHours: 336, Reps: 3, API: true}
}

// SetOpRow is one computation's timings, in milliseconds. Total is the
// wall time of every role on this machine, the n participants sharing its
// cores (on real devices they run side by side, so a deployment's latency
// is closer to Participant + Cloud + Administrator).
type SetOpRow struct {
	N             int     `json:"n"`
	M             int     `json:"m"`
	Total         float64 `json:"total_ms"`
	Participant   float64 `json:"participant_ms"`   // one participant's own work, mean
	Cloud         float64 `json:"cloud_ms"`         // product of the n uploads (checks included)
	Administrator float64 `json:"administrator_ms"` // request, audit of the cloud, decryption
}

// PrivacyResult holds every figure of one run.
type PrivacyResult struct {
	Machine        string     `json:"machine"`
	ByPlaces       []SetOpRow `json:"by_places"`
	ByParticipants []SetOpRow `json:"by_participants"`
	Phone          struct {
		N           int     `json:"n"`
		M           int     `json:"m"`
		Participant float64 `json:"participant_ms"` // GOMAXPROCS=1
		Commit      float64 `json:"commit_ms"`      // one period's Pedersen commitment
		Open        float64 `json:"verify_opening_ms"`
	} `json:"phone"`
	API struct {
		N     int     `json:"n"`
		M     int     `json:"m"`
		Total float64 `json:"total_ms"` // session start to result on the ledger
	} `json:"api"`
	PSI struct {
		RiskTokens  int     `json:"risk_tokens"`
		Prepare     float64 `json:"server_prepare_ms"` // H(v)^k for every risk visit
		DeviceHours int     `json:"device_hours"`
		Blind       float64 `json:"device_blind_ms"`
		Evaluate    float64 `json:"server_evaluate_ms"`
		Finish      float64 `json:"device_finish_ms"` // proof check, unblind, compare
		ThroughAPI  float64 `json:"through_api_ms"`   // download tokens + evaluate + finish, via a node
	} `json:"psi"`
}

func (cfg *PrivacyConfig) logf(format string, args ...any) {
	if cfg.Log != nil {
		fmt.Fprintf(cfg.Log, format+"\n", args...)
	}
}

func msOf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// median returns the median of reps runs of f.
func median(reps int, f func() (time.Duration, error)) (float64, error) {
	var ds []time.Duration
	for i := 0; i < max(reps, 1); i++ {
		d, err := f()
		if err != nil {
			return 0, err
		}
		ds = append(ds, d)
	}
	slices.Sort(ds)
	return msOf(ds[len(ds)/2]), nil
}

// RunPrivacy measures everything.
func RunPrivacy(cfg PrivacyConfig) (*PrivacyResult, error) {
	res := &PrivacyResult{Machine: fmt.Sprintf("%s/%s, %d CPUs, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())}
	for _, m := range cfg.Places {
		row, err := setOpRow(cfg.N, m, cfg.Reps)
		if err != nil {
			return nil, err
		}
		res.ByPlaces = append(res.ByPlaces, row)
		cfg.logf("n=%d m=%d: %.1f ms (participant %.1f, cloud %.1f, administrator %.1f)", row.N, row.M, row.Total, row.Participant, row.Cloud, row.Administrator)
	}
	for _, n := range cfg.Participants {
		row, err := setOpRow(n, cfg.M, cfg.Reps)
		if err != nil {
			return nil, err
		}
		res.ByParticipants = append(res.ByParticipants, row)
		cfg.logf("n=%d m=%d: %.1f ms (participant %.1f, cloud %.1f, administrator %.1f)", row.N, row.M, row.Total, row.Participant, row.Cloud, row.Administrator)
	}
	if err := phone(cfg, res); err != nil {
		return nil, err
	}
	cfg.logf("phone-class participant (1 core), n=%d m=%d: %.1f ms; commit %.1f ms; verify opening %.1f ms", res.Phone.N, res.Phone.M, res.Phone.Participant, res.Phone.Commit, res.Phone.Open)
	if err := psi(cfg, res); err != nil {
		return nil, err
	}
	cfg.logf("exposure check, %d risk tokens, %d device hours: prepare %.0f ms, blind %.1f, evaluate %.1f, finish %.1f", res.PSI.RiskTokens, res.PSI.DeviceHours, res.PSI.Prepare, res.PSI.Blind, res.PSI.Evaluate, res.PSI.Finish)
	if cfg.API {
		if err := throughAPI(cfg, res); err != nil {
			return nil, err
		}
		cfg.logf("through the API: n=%d m=%d end to end %.0f ms; exposure check %.0f ms", res.API.N, res.API.M, res.API.Total, res.PSI.ThroughAPI)
	}
	return res, nil
}

func visitsOf(n, m int, seed uint64) [][]bool {
	rng := rand.New(rand.NewPCG(seed, uint64(n*m)))
	v := make([][]bool, n)
	for i := range v {
		v[i] = make([]bool, m)
		for l := range v[i] {
			v[i][l] = rng.IntN(5) == 0
		}
	}
	return v
}

// setOpRow runs one computation reps times in memory, every role, and
// reports the medians.
func setOpRow(n, m, reps int) (SetOpRow, error) {
	var rows []SetOpRow
	for r := 0; r < max(reps, 1); r++ {
		row, err := computeOnce(n, m, uint64(r))
		if err != nil {
			return SetOpRow{}, err
		}
		rows = append(rows, row)
	}
	med := func(f func(SetOpRow) float64) float64 {
		xs := make([]float64, len(rows))
		for i := range rows {
			xs[i] = f(rows[i])
		}
		slices.Sort(xs)
		return xs[len(xs)/2]
	}
	return SetOpRow{N: n, M: m, Total: med(func(r SetOpRow) float64 { return r.Total }), Participant: med(func(r SetOpRow) float64 { return r.Participant }),
		Cloud: med(func(r SetOpRow) float64 { return r.Cloud }), Administrator: med(func(r SetOpRow) float64 { return r.Administrator })}, nil
}

// computeOnce runs one session in memory: the administrator's request;
// the participants in parallel (one goroutine per core), phase by phase as
// the protocol orders them; the cloud; the administrator's audit and
// decryption. The result is checked against the plain union.
func computeOnce(n, m int, seed uint64) (SetOpRow, error) {
	visits := visitsOf(n, m, seed)
	row := SetOpRow{N: n, M: m}
	t0 := time.Now()
	sk, err := privacy.GenerateKey(nil)
	if err != nil {
		return row, err
	}
	p := &privacy.Params{Session: fmt.Sprintf("bench-%d-%d-%d", n, m, seed), Op: privacy.Union, Universe: sha256.Sum256([]byte("bench")), Places: m, Participants: n, Shares: n}
	if err := sk.NewRequest(p, nil); err != nil {
		return row, err
	}
	admin := time.Since(t0)

	parts := make([]*privacy.Participant, n)
	own := make([]time.Duration, n)
	peers := make([]privacy.PeerKeys, n)
	inbox := make([][]privacy.SealedShare, n)
	uploads := make([]privacy.Upload, n)
	var mu sync.Mutex
	phase := func(f func(i int) error) error {
		errs := make([]error, n)
		var wg sync.WaitGroup
		next := make(chan int)
		for w := 0; w < runtime.GOMAXPROCS(0); w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					t := time.Now()
					errs[i] = f(i)
					own[i] += time.Since(t)
				}
			}()
		}
		for i := 0; i < n; i++ {
			next <- i
		}
		close(next)
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
		return nil
	}
	err = phase(func(i int) error {
		pp, err := privacy.NewParticipant(p, i, visits[i], nil)
		parts[i] = pp
		if err == nil {
			peers[i] = pp.Keys()
		}
		return err
	})
	if err == nil {
		err = phase(func(i int) error {
			sh, err := parts[i].Shares(peers)
			mu.Lock()
			for _, s := range sh {
				inbox[s.To] = append(inbox[s.To], s)
			}
			mu.Unlock()
			return err
		})
	}
	if err == nil {
		err = phase(func(i int) error {
			u, err := parts[i].Upload(peers, inbox[i])
			if err == nil {
				uploads[i] = *u
			}
			return err
		})
	}
	if err != nil {
		return row, err
	}
	t1 := time.Now()
	prod, err := privacy.Combine(p, peers, uploads)
	if err != nil {
		return row, err
	}
	row.Cloud = msOf(time.Since(t1))
	t2 := time.Now()
	vec, err := privacy.Audit(p, peers, uploads, prod.Bytes(), privacy.DefaultAudit)
	if err != nil {
		return row, err
	}
	in, err := sk.Members(p, vec)
	if err != nil {
		return row, err
	}
	admin += time.Since(t2)
	row.Total = msOf(time.Since(t0))
	row.Administrator = msOf(admin)
	var sum time.Duration
	for _, d := range own {
		sum += d
	}
	row.Participant = msOf(sum / time.Duration(n))
	for l := range in {
		any := false
		for i := range visits {
			any = any || visits[i][l]
		}
		if in[l] != any {
			return row, fmt.Errorf("bench: wrong union at place %d", l)
		}
	}
	return row, nil
}

// phone measures one participant's own work on one core (GOMAXPROCS=1),
// n = N and m = PhoneM, and a device's commitment and an opening check.
func phone(cfg PrivacyConfig, res *PrivacyResult) error {
	n, m := cfg.N, cfg.PhoneM
	res.Phone.N, res.Phone.M = n, m
	sk, _ := privacy.GenerateKey(nil)
	p := &privacy.Params{Session: "bench-phone-1", Op: privacy.Union, Universe: sha256.Sum256([]byte("bench")), Places: m, Participants: n, Shares: n}
	if err := sk.NewRequest(p, nil); err != nil {
		return err
	}
	visits := visitsOf(n, m, 9)
	parts := make([]*privacy.Participant, n)
	peers := make([]privacy.PeerKeys, n)
	for i := range parts {
		pp, err := privacy.NewParticipant(p, i, visits[i], nil)
		if err != nil {
			return err
		}
		parts[i], peers[i] = pp, pp.Keys()
	}
	var in []privacy.SealedShare
	for _, pp := range parts[1:] {
		sh, err := pp.Shares(peers)
		if err != nil {
			return err
		}
		for _, s := range sh {
			if s.To == 0 {
				in = append(in, s)
			}
		}
	}
	var err error
	// Participant 0's whole own work on one core: preparing its answer
	// (a fresh one, timed and dropped), sealing its shares and building its
	// upload (with the first one's keys, which the others sealed to).
	res.Phone.Participant, err = oneCore(cfg.Reps, func() error {
		if _, err := privacy.NewParticipant(p, 0, visits[0], nil); err != nil {
			return err
		}
		if _, err := parts[0].Shares(peers); err != nil {
			return err
		}
		_, err := parts[0].Upload(peers, in)
		return err
	})
	if err != nil {
		return err
	}
	u, err := privacy.NewUniverse("bench", time.Hour, placeNames(m))
	if err != nil {
		return err
	}
	gs := privacy.NewGenerators(u.Digest(), m)
	dev, err := privacy.NewDevice(u, nil)
	if err != nil {
		return err
	}
	var recs []privacy.Commitment
	res.Phone.Commit, err = oneCore(cfg.Reps*8, func() error {
		rec, err := dev.Commit(u, gs, int64(len(recs))*3600, u.Places[:len(recs)%5], nil)
		if err == nil {
			recs = append(recs, rec.C)
		}
		return err
	})
	if err != nil {
		return err
	}
	o, _, err := dev.Open(u, 0, int64(len(recs))*3600)
	if err != nil {
		return err
	}
	res.Phone.Open, err = oneCore(cfg.Reps, func() error {
		_, _, err := gs.Check(recs, o)
		return err
	})
	return err
}

// oneCore times f on one core (GOMAXPROCS=1), reps times, and returns the
// median in milliseconds.
func oneCore(reps int, f func() error) (float64, error) {
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	return median(reps, func() (time.Duration, error) {
		t := time.Now()
		err := f()
		return time.Since(t), err
	})
}

func placeNames(m int) []string {
	out := make([]string, m)
	for i := range out {
		out[i] = fmt.Sprintf("u%d", i+1)
	}
	return out
}

// psi measures the exposure check in memory.
func psi(cfg PrivacyConfig, res *PrivacyResult) error {
	res.PSI.RiskTokens, res.PSI.DeviceHours = cfg.RiskTokens, cfg.DeviceHours
	risk := make([]privacy.Visit, cfg.RiskTokens)
	for i := range risk {
		risk[i] = privacy.Visit{Site: fmt.Sprintf("site-%d", i%500), Slot: int64(i/500) * privacy.Slot}
	}
	key, err := privacy.NewRiskKey(nil)
	if err != nil {
		return err
	}
	var tokens []byte
	res.PSI.Prepare, _ = median(1, func() (time.Duration, error) {
		t := time.Now()
		tokens = key.Tokens(risk)
		return time.Since(t), nil
	})
	mine := make([]privacy.Visit, cfg.DeviceHours)
	for i := range mine {
		mine[i] = privacy.Visit{Site: fmt.Sprintf("site-%d", i*7%900), Slot: int64(i%24) * privacy.Slot}
	}
	var bl *privacy.Blinding
	var blinded, ev []byte
	var proof *privacy.Proof
	for r := 0; r < max(cfg.Reps, 1); r++ {
		t := time.Now()
		bl, blinded, err = privacy.Blind(mine, nil)
		if err != nil {
			return err
		}
		t1 := time.Now()
		ev, proof, err = key.Evaluate(blinded, nil)
		if err != nil {
			return err
		}
		t2 := time.Now()
		if _, err := bl.Finish(key.Public(), ev, proof, tokens); err != nil {
			return err
		}
		t3 := time.Now()
		if r == 0 || msOf(t3.Sub(t)) < res.PSI.Blind+res.PSI.Evaluate+res.PSI.Finish {
			res.PSI.Blind, res.PSI.Evaluate, res.PSI.Finish = msOf(t1.Sub(t)), msOf(t2.Sub(t1)), msOf(t3.Sub(t2))
		}
	}
	return nil
}

// throughAPI runs the set operation (n = N, m = PhoneM) and the exposure
// check through a temporary node.
func throughAPI(cfg PrivacyConfig, res *PrivacyResult) error {
	url, token, stop, err := api.TempNode(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return err
	}
	defer stop()
	c := client.New(url, token)
	ctx := context.Background()
	n, m := cfg.N, cfg.PhoneM
	res.API.N, res.API.M = n, m
	places := placeNames(m)
	flags := visitsOf(n, m, 3)
	visits := make([][]string, n)
	for i := range visits {
		visits[i] = []string{}
		for l, b := range flags[i] {
			if b {
				visits[i] = append(visits[i], places[l])
			}
		}
	}
	res.API.Total, err = median(cfg.Reps, func() (time.Duration, error) {
		rep, err := client.RunSetOp(ctx, c, privacy.Union, places, visits, 0)
		if err != nil {
			return 0, err
		}
		return rep.Total, nil
	})
	if err != nil {
		return err
	}

	var rv []api.RiskVisit
	base := time.Date(2020, 1, 20, 0, 0, 0, 0, time.UTC)
	for i := 0; i < cfg.RiskTokens; i++ {
		in := base.Add(time.Duration(i/500) * time.Hour)
		rv = append(rv, api.RiskVisit{Site: fmt.Sprintf("site-%d", i%500), In: in.Format(time.RFC3339), Out: in.Add(10 * time.Minute).Format(time.RFC3339)})
	}
	if _, err := c.PublishRisk(ctx, rv); err != nil {
		return err
	}
	mine := make([]privacy.Visit, min(cfg.DeviceHours, api.MaxEvaluate))
	for i := range mine {
		mine[i] = privacy.Visit{Site: fmt.Sprintf("site-%d", i*7%900), Slot: base.Unix() + int64(i%24)*privacy.Slot}
	}
	res.PSI.ThroughAPI, err = median(1, func() (time.Duration, error) {
		t := time.Now()
		_, err := client.CheckExposure(ctx, client.New(url, ""), mine)
		return time.Since(t), err
	})
	return err
}
