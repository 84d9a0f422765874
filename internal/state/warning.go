package state

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/epiledger/epiledger/internal/detect"
	"github.com/epiledger/epiledger/internal/geo"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/region"
	"github.com/epiledger/epiledger/internal/store"
)

// Warning rules and their alerts (issue 16, docs/WARNING.md). Rules are
// set by the authorities (the correction rule's k of n); every report
// card, and every revision that moves one, runs the active rules of its
// disease on its home district's daily counts, inside the state machine
// and in integers (internal/detect), so that an alert is committed in the
// block of the card that tripped it, the same on every node.

// Rule is a warning rule in force (or retired: Active false), with the
// transaction that set it.
type Rule struct {
	ledger.WarningRule
	Tx  ledger.Hash
	det detect.Detector // its method, made once a block (readRules)
}

// setRule keeps a rule, signed by enough of the authorities.
func (blk *Block) setRule(tx *ledger.Tx, id ledger.Hash, b *ledger.WarningRule) error {
	parties, quorum := blk.validatorParties()
	signed := 0
	var seen [][32]byte
	for _, s := range tx.Sigs {
		if slices.Contains(seen, s.Key) {
			return reject(CodeInvalid, "signature", "a key signs a rule once")
		}
		seen = append(seen, s.Key)
		if slices.Contains(parties, s.Key) || s.Key == blk.m.gen.Authority {
			signed++
		}
	}
	if signed < quorum {
		return reject(CodeWrongSigner, "signature", "%d of the authorities signed; a warning rule needs %d (the correction rule's quorum)", signed, quorum)
	}
	if _, err := detectorOf(b); err != nil {
		field := "alpha"
		switch {
		case errors.Is(err, detect.ErrBaseline):
			field = "baseline"
		case errors.Is(err, detect.ErrMinSigma):
			field = "min_sigma"
		case errors.Is(err, detect.ErrYears):
			field = "years"
		case errors.Is(err, detect.ErrWeeks):
			field = "weeks"
		case errors.Is(err, detect.ErrPercentile):
			field = "percentile"
		case errors.Is(err, detect.ErrWindow), errors.Is(err, detect.ErrDays):
			field = "days"
		case errors.Is(err, detect.ErrMinCases), errors.Is(err, detect.ErrCases):
			field = "cases"
		}
		return reject(CodeInvalid, field, "%v", err)
	}
	if b.Over != "" {
		code, err := region.Parse(b.Over)
		if err != nil || string(code) != b.Over || code.Level() == region.LevelDistrict {
			return reject(CodeInvalid, "over", "a city, province or the nation (000000), six digits; a district's own count is every rule's without over")
		}
		if own, err := region.Parse(blk.m.gen.Region); err == nil && !code.Within(own) {
			return reject(CodeInvalid, "over", "%s is not within this chain's region %s", code, own)
		}
	}
	if err := blk.set(store.RuleKey(b.Name), tx.Bytes()); err != nil {
		return err
	}
	blk.rulesRead = false // read them again, with this one
	// What was worked out under a rule's name (its bounds, its least
	// alarming counts) may be another rule's now.
	blk.past, blk.bounds, blk.least, blk.pastChanged = nil, nil, nil, true
	if b.Over != "" && b.Active {
		return blk.rebuildTotals(id, b.Disease, b.Over)
	}
	return nil
}

// rebuildTotals writes disease's daily totals within region over afresh
// from its districts' counts: a rule over a region is set, and the totals
// are kept only while such a rule is active.
func (blk *Block) rebuildTotals(cause ledger.Hash, disease, over string) error {
	lo, hi := store.TotalRange(disease, over, 0, ^uint32(0))
	var stale [][]byte
	if err := blk.b.Scan(lo, hi, func(k, _ []byte) bool {
		stale = append(stale, slices.Clone(k))
		return true
	}); err != nil {
		return err
	}
	for _, k := range stale {
		if err := blk.del(k); err != nil {
			return err
		}
		blk.noteBucket(k, DayCount{Day: binary.BigEndian.Uint32(k[len(k)-4:])})
	}
	cs, err := CountsWithin(blk.b, disease, region.Code(over), 0, ^uint32(0))
	if err != nil {
		return err
	}
	for _, d := range cs {
		d.Last = cause
		if err := blk.putBucket(store.TotalKey(disease, over, d.Day), d); err != nil {
			return err
		}
	}
	blk.past, blk.bounds, blk.least, blk.pastChanged = nil, nil, nil, true
	return nil
}

// moveTotals adds deltas (by classification) to the totals of the
// regions the active rules of disease run over that hold home.
func (blk *Block) moveTotals(cause ledger.Hash, disease, home string, day uint32, deltas [nClasses]int64) error {
	if err := blk.readRules(); err != nil {
		return err
	}
	var done []string
	for i := range blk.rules {
		r := &blk.rules[i]
		if !r.Active || r.Over == "" || r.Disease != disease || slices.Contains(done, r.Over) || !region.Code(home).Within(region.Code(r.Over)) {
			continue
		}
		done = append(done, r.Over)
		k := store.TotalKey(disease, r.Over, day)
		d, err := blk.bucket(k, day)
		if err != nil {
			return err
		}
		for c := range deltas {
			v := int64(*d.slot(c)) + deltas[c]
			if v < 0 {
				return store.ErrCorrupt // a total short of a district's cases
			}
			*d.slot(c) = uint32(v)
		}
		d.Last = cause
		if err := blk.putBucket(k, d); err != nil {
			return err
		}
	}
	return nil
}

// activeRules are the rules of disease in force in this block.
func (blk *Block) activeRules(disease string) ([]*Rule, error) {
	if err := blk.readRules(); err != nil {
		return nil, err
	}
	return blk.byDisease[disease], nil
}

// readRules reads the rules into blk.rules, once a block (and again
// after a rule is set).
func (blk *Block) readRules() error {
	if !blk.rulesRead {
		rs, err := Rules(blk.b)
		if err != nil {
			return err
		}
		blk.rules, blk.rulesRead, blk.byDisease = rs, true, map[string][]*Rule{}
		for i := range blk.rules {
			r := &blk.rules[i]
			r.det, _ = detectorOf(&r.WarningRule) // checked when the rule was set; nil refused in evaluate
			if r.Active {
				blk.byDisease[r.Disease] = append(blk.byDisease[r.Disease], r)
			}
		}
	}
	return nil
}

// detectorOf is the method a rule runs.
func detectorOf(b *ledger.WarningRule) (detect.Detector, error) {
	var d detect.Detector
	switch b.Method {
	case ledger.RuleSiteCluster, ledger.RuleSpaceTime:
		return nil, nil // not on daily counts: siteCluster, spaceTime
	case ledger.RuleThreshold:
		d = detect.Threshold{Cases: int(b.Cases), Days: int(b.Days)}
	case ledger.RulePercentile:
		d = detect.Percentile{Years: int(b.Years), Weeks: int(b.Weeks), Percentile: int(b.Percentile), Window: int(b.Days), MinCases: int(b.Cases)}
	default:
		m := map[string]detect.Method{ledger.RuleEARSC1: detect.C1, ledger.RuleEARSC2: detect.C2, ledger.RuleEARSC3: detect.C3}[b.Method]
		d = detect.EARS{Method: m, Baseline: int(b.Baseline), Alpha: detect.Fixed(b.Alpha), MinSigma: detect.Fixed(b.MinSigma)}
	}
	return d, d.Check()
}

// Rules returns the warning rules, retired ones too, by name.
func Rules(rd store.Reader) ([]Rule, error) {
	lo, hi := store.RuleRange()
	var out []Rule
	var derr error
	err := rd.Scan(lo, hi, func(_, v []byte) bool {
		tx, err := ledger.DecodeTx(v)
		b, ok := tx.Body.(*ledger.WarningRule)
		if err != nil || !ok {
			derr = store.ErrCorrupt
			return false
		}
		out = append(out, Rule{WarningRule: *b, Tx: tx.ID()})
		return true
	})
	if err == nil {
		err = derr
	}
	return out, err
}

// Alert statuses, from the signal on.
const (
	AlertSignal       = "signal"
	AlertVerification = "verification"
	AlertDiscarded    = "discarded"
	AlertMonitored    = "monitored"
	AlertAssessment   = "assessment"
	AlertConfirmed    = "confirmed"
	AlertClosed       = "closed"
)

// alertNext is where each action takes an alert from each status.
var alertNext = map[string]map[string]string{
	AlertSignal:       {ledger.AlertVerify: AlertVerification},
	AlertVerification: {ledger.AlertDiscard: AlertDiscarded, ledger.AlertMonitor: AlertMonitored, ledger.AlertAssess: AlertAssessment},
	AlertMonitored:    {ledger.AlertAssess: AlertAssessment, ledger.AlertDiscard: AlertDiscarded, ledger.AlertClose: AlertClosed},
	AlertAssessment:   {ledger.AlertConfirm: AlertConfirmed, ledger.AlertDiscard: AlertDiscarded},
	AlertConfirmed:    {ledger.AlertClose: AlertClosed},
}

// MaxAlertRecords bounds the report cards an alert names.
const MaxAlertRecords = 64

// MaxClusterFound and MaxClusterRead bound a cluster rule's work for one
// card: it stops at this many cases found (its alert's count is then
// "at least"), or at this many places read around the card's.
const (
	MaxClusterFound = 256
	MaxClusterRead  = 16384
)

// Alert is an alert a rule raised: for one home district, disease and
// reporting day, once per rule.
type Alert struct {
	ID                    ledger.Hash
	Rule, Method, Disease string
	Region                string
	// Site is where a cluster rule found its cases: a site-cluster
	// rule's site id, or a space-time rule's "near LAT,LON", the place
	// of the card that first tripped it ("" for the others).
	Site                   string
	Day                    uint32
	Level                  uint8
	Observed               uint32 // the count that tripped it (threshold: in its window)
	Upper                  int64  // the largest count that would not have (10^-6)
	Raised                 int64  // block time, Unix seconds
	Height                 uint64 // the block that raised it
	Records                []ledger.Hash
	Status                 string
	Assignee               [32]byte
	FirstResponse, Updated int64 // the first action's and the latest's block time (0: none yet)
	LastAction             ledger.Hash
	// stored is how many of Records the store holds (the rest this block
	// added).
	stored int
}

// clone is a copy of a whose Records a block may append to.
func (a *Alert) clone() *Alert {
	c := *a
	c.Records = slices.Clone(a.Records)
	return &c
}

// AlertID is the id of rule's alert for region on day.
func AlertID(rule, region string, day uint32) ledger.Hash {
	h := sha256.New()
	h.Write([]byte("epiledger/v1/alert\x00"))
	h.Write([]byte(rule))
	h.Write([]byte{0})
	h.Write([]byte(region))
	h.Write([]byte{0, byte(day >> 24), byte(day >> 16), byte(day >> 8), byte(day)})
	var out ledger.Hash
	h.Sum(out[:0])
	return out
}

func encodeAlert(a *Alert) []byte {
	var x w
	x.str(a.Rule)
	x.str(a.Method)
	x.str(a.Disease)
	x.str(a.Region)
	x.str(a.Site)
	x.u32(a.Day)
	x.u8(a.Level)
	x.u32(a.Observed)
	x.i64(a.Upper)
	x.i64(a.Raised)
	x.i64(int64(a.Height))
	x.str(a.Status)
	x.raw(a.Assignee[:])
	x.i64(a.FirstResponse)
	x.i64(a.Updated)
	x.raw(a.LastAction[:])
	return x.b
}

func decodeAlert(id ledger.Hash, v []byte) (Alert, error) {
	x := r2(v)
	a := Alert{ID: id, Rule: x.str(), Method: x.str(), Disease: x.str(), Region: x.str(), Site: x.str(), Day: x.u32(), Level: x.u8(), Observed: x.u32(), Upper: x.i64(),
		Raised: x.i64(), Height: uint64(x.i64())}
	a.Status = x.str()
	copy(a.Assignee[:], x.take(32))
	a.FirstResponse, a.Updated = x.i64(), x.i64()
	copy(a.LastAction[:], x.take(32))
	return a, x.err("alert")
}

// AlertOf returns alert id.
func AlertOf(rd store.Reader, id ledger.Hash) (Alert, bool, error) {
	v, ok, err := rd.Get(store.AlertKey(id))
	if err != nil || !ok {
		return Alert{}, false, err
	}
	a, err := decodeAlert(id, v)
	if err != nil {
		return a, false, err
	}
	rs, err := alertRecords(rd, id, false)
	a.Records, a.stored = rs[id], len(rs[id])
	return a, err == nil, err
}

// alertRecords reads the records of alert id (of every alert, with all),
// by alert, in the order they joined it.
func alertRecords(rd store.Reader, id ledger.Hash, all bool) (map[ledger.Hash][]ledger.Hash, error) {
	lo, hi := store.AlertRecordRange(id, all)
	out := map[ledger.Hash][]ledger.Hash{}
	bad := false
	err := rd.Scan(lo, hi, func(k, v []byte) bool {
		if len(k) != 1+32+1 || len(v) != 32 || int(k[33]) != len(out[ledger.Hash(k[1:33])]) {
			bad = true
			return false
		}
		a := ledger.Hash(k[1:33])
		out[a] = append(out[a], ledger.Hash(v))
		return true
	})
	if err == nil && bad {
		err = fmt.Errorf("%w: an alert's records", store.ErrCorrupt)
	}
	return out, err
}

// Alerts returns every alert, by id.
func Alerts(rd store.Reader) ([]Alert, error) {
	rs, err := alertRecords(rd, ledger.Hash{}, true)
	if err != nil {
		return nil, err
	}
	lo, hi := store.AlertRange()
	var out []Alert
	var derr error
	err = rd.Scan(lo, hi, func(k, v []byte) bool {
		var a Alert
		a, derr = decodeAlert(ledger.Hash(k[1:]), v)
		a.Records, a.stored = rs[a.ID], len(rs[a.ID])
		out = append(out, a)
		return derr == nil
	})
	if err == nil {
		err = derr
	}
	return out, err
}

// runRules runs the active rules of f's disease for a card just counted
// (or the transaction that carried a child's counts) on day: the cluster
// rules at once, on the card's places; the rules on counts, once per
// district and day at the block's end (runCounted), on the block's final
// counts. Either way an alarm raises its alert in this block.
func (blk *Block) runRules(card ledger.Hash, f *ledger.CardFields, day uint32) error {
	rules, err := blk.activeRules(f.Disease)
	if err != nil || len(rules) == 0 {
		return err
	}
	counted := false
	for _, r := range rules {
		switch {
		case r.Method == ledger.RuleSiteCluster:
			if err := blk.siteCluster(r, card, f, day); err != nil {
				return err
			}
		case r.Method == ledger.RuleSpaceTime:
			if f.Placed {
				if err := blk.spaceTime(r, card, f, day); err != nil {
					return err
				}
			}
		default:
			counted = true
		}
	}
	if counted {
		k := string(store.CountKey(f.Disease, f.Home, day))
		t := blk.counted[k]
		if t == nil {
			if blk.counted == nil {
				blk.counted = map[string]*countedBucket{}
			}
			t = &countedBucket{disease: f.Disease, home: f.Home, day: day}
			blk.counted[k] = t
		}
		t.records = append(t.records, card)
	}
	return nil
}

// countedBucket is a district's bucket that cards entered or left in
// this block, with those records, in block order.
type countedBucket struct {
	disease, home string
	day           uint32
	records       []ledger.Hash
}

// runCounted runs the rules on counts for every bucket the block
// counted in, in key order: once per rule, district and day, whatever
// the number of cards; an alarm raises (or adds the records to) the
// alert of the district, or of the region a rule runs over.
func (blk *Block) runCounted() (err error) {
	if len(blk.counted) == 0 {
		return nil
	}
	keys := slices.Sorted(maps.Keys(blk.counted))
	// One cursor over the cards' index for the alerts raised here (the
	// buckets come in key order, and so do their cards' ranges): far
	// cheaper than an iterator per alert.
	lo, hi := store.TablePrefix(store.TabCardDay)
	if blk.cards, err = blk.b.Cursor(lo, hi); err != nil {
		return err
	}
	defer func() {
		if cerr := blk.cards.Close(); err == nil {
			err = cerr
		}
		blk.cards = nil
	}()
	for _, k := range keys {
		t := blk.counted[k]
		rules, err := blk.activeRules(t.disease)
		if err != nil {
			return err
		}
		today, err := blk.bucket([]byte(k), t.day)
		if err != nil {
			return err
		}
		f := &ledger.CardFields{Disease: t.disease, Home: t.home}
		for _, r := range rules {
			switch {
			case r.Method == ledger.RuleSiteCluster || r.Method == ledger.RuleSpaceTime:
			case r.Over != "":
				// A rule over a region: its total, if the district is
				// within it.
				if !region.Code(t.home).Within(region.Code(r.Over)) {
					continue
				}
				tot, err := blk.bucket(store.TotalKey(t.disease, r.Over, t.day), t.day)
				if err != nil {
					return err
				}
				if err := blk.runCountRule(r, f, r.Over, true, t.day, tot.Total(), t.records); err != nil {
					return err
				}
			default:
				if err := blk.runCountRule(r, f, t.home, false, t.day, today.Total(), t.records); err != nil {
					return err
				}
			}
		}
	}
	blk.counted = nil
	return nil
}

// runCountRule runs rule r on the daily counts at where (f's district,
// or with total the region r runs over), raising its alert on an alarm.
func (blk *Block) runCountRule(r *Rule, f *ledger.CardFields, where string, total bool, day, today uint32, records []ledger.Hash) error {
	alarm, span, observed, upper, err := blk.evaluate(r, f.Disease, where, total, day, today)
	if err != nil || !alarm {
		return err
	}
	for _, rec := range records {
		if err := blk.raise(r, f, where, total, day, span, rec, observed, upper); err != nil {
			return err
		}
	}
	return nil
}

// evaluate runs rule r on disease's series at where (a home district, or
// with total the region r runs over) on day, whose count is today. span
// is how many days, to day, its alert's cards are gathered from: the
// days it counts.
func (blk *Block) evaluate(r *Rule, disease, where string, total bool, day, today uint32) (alarm bool, span, observed uint32, upper int64, err error) {
	d := r.det
	if d == nil {
		return false, 0, 0, 0, store.ErrCorrupt // checked when the rule was set
	}
	need := uint32(d.First()) + 1
	if need > day+1 {
		return false, 0, 0, 0, nil // before the first days of the calendar
	}
	// Every method alarms on the day's count from some count on, which
	// the days before decide: most cards are below it, and need no more.
	if least, err := blk.leastAlarm(r, disease, where, total, day, need); err != nil || today < least {
		return false, 0, 0, 0, err
	}
	series := make([]uint32, need)
	past, err := blk.pastSeries(disease, where, total, day, need)
	if err != nil {
		return false, 0, 0, 0, err
	}
	copy(series, past)
	series[need-1] = today
	if e, ok := d.(detect.EARS); ok {
		// The bound (C1, C2) or the verdict for a positive count (C3) is
		// the days' before: once per district and day in a block,
		// whatever the day's count.
		up, err := blk.earsBound(r.Name, where, day, e, series)
		if err != nil {
			return false, 0, 0, 0, err
		}
		y := series[need-1]
		if e.Method != detect.C3 || !earsAlarm(up, y) {
			return earsAlarm(up, y), 1, y, int64(up.Fixed), nil
		}
		// A C3 alarm: its real bound, for the alert.
	}
	res, err := d.At(series, int(need-1))
	if err != nil {
		return false, 0, 0, 0, err
	}
	switch r.Method {
	case ledger.RuleThreshold:
		span = need
	case ledger.RulePercentile:
		span = 7 // its window, by default
		if r.Days != 0 {
			span = uint32(r.Days)
		}
	default:
		span = 1 // an EARS alarm is about the day: its cards are the day's
	}
	return res.Alarm, span, res.Observed, int64(res.Upper.Fixed), nil
}

// never is leastAlarm's answer for a rule that no count of the day trips.
const never = ^uint32(0)

// leastAlarm is the least count of day at where that trips rule r: its
// alarm grows with the day's count (a threshold's window sum, EARS's
// count against a bound of the days before, a percentile's window sum
// against past years), so the days before fix it, once per rule, place
// and day (kept as the past series are).
func (blk *Block) leastAlarm(r *Rule, disease, where string, total bool, day, need uint32) (uint32, error) {
	key := boundKey{r.Name, where, day}
	if t, ok := memo(blk, &blk.least, func(c *caches) map[boundKey]uint32 { return c.least }, key); ok {
		return t, nil
	}
	past, err := blk.pastSeries(disease, where, total, day, need)
	if err != nil {
		return 0, err
	}
	series := append(slices.Clone(past), 0)
	var t uint32
	if e, ok := r.det.(detect.EARS); ok {
		up, err := blk.earsBound(r.Name, where, day, e, series)
		if err != nil {
			return 0, err
		}
		switch {
		case up.Kind != detect.Finite:
			t = never
		case up.Fixed < 0:
			t = 0
		default:
			t = uint32(min(int64(never), int64(up.Fixed)/int64(detect.One)+1)) // y One > bound
		}
	} else {
		alarms := func(y uint32) (bool, error) {
			series[need-1] = y
			res, err := r.det.At(series, int(need-1))
			return res.Alarm, err
		}
		// Doubling, then halving: counts are small, and At is cheap but
		// not free (a percentile sorts past years).
		lo, hi := uint32(0), uint32(1)
		for {
			a, err := alarms(hi - 1)
			if err != nil {
				return 0, err
			}
			if a {
				break
			}
			if hi >= 1<<24 {
				lo, hi = never, never
				break
			}
			lo, hi = hi, hi*2
		}
		// The least alarming count is in [lo, hi-1]: (lo-1 did not alarm).
		for lo < hi-1 && hi != never {
			mid := lo + (hi-1-lo)/2
			a, err := alarms(mid)
			if err != nil {
				return 0, err
			}
			if a {
				hi = mid + 1
			} else {
				lo = mid + 1
			}
		}
		t = lo
	}
	if blk.least == nil {
		blk.least = map[boundKey]uint32{}
	}
	blk.least[key] = t
	return t, nil
}

// pastSeries is the daily totals of a district's disease (or, with
// total, a region's) on the need-1 days before day, as this block sees
// them: the same for every card of that district in the block (kept in
// blk.past until a card is counted on a day before its block's).
func (blk *Block) pastSeries(disease, home string, total bool, day, need uint32) ([]uint32, error) {
	n := need - 1
	if n == 0 {
		return nil, nil
	}
	// One series per district and day, as long as the longest rule
	// needs: the others read its tail.
	key := seriesKey{disease, home, total, day}
	known, ok := memo(blk, &blk.past, func(c *caches) map[seriesKey][]uint32 { return c.past }, key)
	if ok && uint32(len(known)) >= n {
		return known[uint32(len(known))-n:], nil
	}
	n = max(n, uint32(len(known)))
	keyOf, rangeOf := store.CountKey, store.CountRange
	if total {
		keyOf, rangeOf = store.TotalKey, store.TotalRange
	}
	s := make([]uint32, n)
	if prev, ok := memo(blk, &blk.past, func(c *caches) map[seriesKey][]uint32 { return c.past }, seriesKey{disease, home, total, day - 1}); ok &&
		uint32(len(prev)) >= n-1 && day > 0 {
		// The day before's series, a day on: its last n-1 days and the
		// day before itself, now past (a past day's change drops them
		// all: pastChanged).
		copy(s, prev[uint32(len(prev))-(n-1):])
		c, err := blk.bucket(keyOf(disease, home, day-1), day-1)
		if err != nil {
			return nil, err
		}
		s[n-1] = c.Total()
	} else if n <= 30 {
		// A few days: through the counts kept between blocks.
		for i := range s {
			dd := day - n + uint32(i)
			c, err := blk.bucket(keyOf(disease, home, dd), dd)
			if err != nil {
				return nil, err
			}
			s[i] = c.Total()
		}
	} else {
		// Years of days (a percentile rule): one scan of those reported.
		cs, err := countsIn(blk.b, rangeOf, disease, home, day-n, day-1)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			s[c.Day-(day-n)] = c.Total()
		}
	}
	if blk.past == nil {
		blk.past = map[seriesKey][]uint32{}
	}
	blk.past[key] = s
	return s[uint32(len(s))-(need-1):], nil
}

// memo looks key up in what this block computed, then, unless a day
// before this block's changed in it, in what committed blocks did.
func memo[K comparable, V any](blk *Block, local *map[K]V, committed func(*caches) map[K]V, key K) (V, bool) {
	if v, ok := (*local)[key]; ok {
		return v, true
	}
	var zero V
	if blk.pastChanged {
		return zero, false
	}
	blk.m.c.mu.Lock()
	v, ok := committed(&blk.m.c)[key]
	blk.m.c.mu.Unlock()
	return v, ok
}

// earsBound is C1's or C2's upper bound for day (the last of series),
// or C3's verdict on a positive count as a bound, computed once per
// rule, district and day: it reads only the days before, never the
// day's own count (TestEARSBoundIgnoresTheDay).
func (blk *Block) earsBound(rule, home string, day uint32, e detect.EARS, series []uint32) (detect.Value, error) {
	key := boundKey{rule, home, day}
	if up, ok := memo(blk, &blk.bounds, func(c *caches) map[boundKey]detect.Value { return c.bounds }, key); ok {
		return up, nil
	}
	s := slices.Clone(series)
	s[len(s)-1] = 0
	if e.Method == detect.C3 {
		s[len(s)-1] = 1
	}
	res, err := e.At(s, len(s)-1)
	if err != nil {
		return detect.Value{}, err
	}
	up := res.Upper
	if e.Method == detect.C3 {
		// C3's bound is max(0, y + sigma (z - P)): it alarms on a count
		// y > 0 exactly when it alarms on 1, and never on 0. Kept as the
		// bound 0 (alarm on any positive count) or an undefined one.
		up = detect.Value{Kind: detect.Undefined}
		if res.Alarm {
			up = detect.Value{Kind: detect.Finite}
		}
	}
	if blk.bounds == nil {
		blk.bounds = map[boundKey]detect.Value{}
	}
	blk.bounds[key] = up
	return up, nil
}

type seriesKey struct {
	disease, home string
	total         bool
	day           uint32
}

type boundKey struct {
	rule, home string
	day        uint32
}

// earsAlarm is detect's alarm for a day's count y against its bound.
func earsAlarm(up detect.Value, y uint32) bool {
	return up.Kind == detect.Finite && int64(y)*int64(detect.One) > int64(up.Fixed)
}

// raise records rule r's alert for where (f's district, or with total
// the region r runs over) on day, naming the cards counted in the days
// the rule looked at (span), or adds card to the alert already raised.
func (blk *Block) raise(r *Rule, f *ledger.CardFields, where string, total bool, day, span uint32, card ledger.Hash, observed uint32, upper int64) error {
	id, ok := blk.alertIDs[boundKey{r.Name, where, day}]
	if !ok {
		// Once a block: a district's alert gathers card after card.
		id = AlertID(r.Name, where, day)
		if blk.alertIDs == nil {
			blk.alertIDs = map[boundKey]ledger.Hash{}
		}
		blk.alertIDs[boundKey{r.Name, where, day}] = id
	}
	a, ok, err := blk.alert(id)
	if err != nil {
		return err
	}
	if !ok {
		a = &Alert{ID: id, Rule: r.Name, Method: r.Method, Disease: f.Disease, Region: where, Day: day, Level: r.Level,
			Raised: blk.now, Height: blk.height, Status: AlertSignal}
		// The alert is an intelligence entry of this chain too, so that
		// it goes up the hierarchy as records do: this chain's N2
		// confirms its digest (the district, the rule's level, the
		// count), relays carry it, the national N1 broadcasts it.
		if err := blk.putIntel(&IntelEntry{Tx: id, Time: blk.now, Dimension: "epidemic", Secrecy: "internal", Region: where, Level: r.Level,
			Involved: observed, Origin: blk.m.gen.ChainID, OriginTx: id}); err != nil {
			return err
		}
	}
	if ok {
		if len(a.Records) < MaxAlertRecords && !slices.Contains(a.Records, card) {
			a.Records = append(a.Records, card)
		}
	} else {
		lo, hi := store.CardDayRange(f.Disease, f.Home, day+1-span, day)
		within := func([]byte) bool { return true }
		if total {
			// A region's total: the cards of its districts in the span
			// (one scan of the disease's cards, once per alert).
			lo, hi = store.CardDayPrefix(f.Disease)
			within = func(k []byte) bool {
				rest := k[len(lo):]
				if len(rest) < 1+int(rest[0])+4+32 {
					return false
				}
				home, d := region.Code(rest[1:1+int(rest[0])]), binary.BigEndian.Uint32(rest[1+int(rest[0]):])
				return d+span > day && d <= day && home.Within(region.Code(where))
			}
		}
		err = blk.cards.Range(lo, hi, func(k, _ []byte) bool {
			if within(k) {
				a.Records = append(a.Records, ledger.Hash(k[len(k)-32:]))
			}
			return len(a.Records) < MaxAlertRecords
		})
		if err != nil {
			return err
		}
		// Counts carried up from a child have no card here: the
		// transaction that carried them is the record.
		if len(a.Records) < MaxAlertRecords && !slices.Contains(a.Records, card) {
			a.Records = append(a.Records, card)
		}
	}
	a.Observed, a.Upper = observed, upper
	blk.touchAlert(a)
	return nil
}

// alert is alert id as this block sees it: from the alerts committed
// blocks kept, else the store.
func (blk *Block) alert(id ledger.Hash) (*Alert, bool, error) {
	if a, ok := blk.alerts[id]; ok {
		return a, true, nil
	}
	blk.m.c.mu.Lock()
	c, ok := blk.m.c.alerts[id]
	blk.m.c.mu.Unlock()
	if ok {
		a := c.clone()
		blk.touchAlert(a)
		return a, true, nil
	}
	a, ok, err := AlertOf(blk.b, id)
	if err != nil || !ok {
		return nil, false, err
	}
	blk.touchAlert(&a)
	return &a, true, nil
}

// touchAlert keeps a, changed, to be written when the block ends: a
// district's alert gathers many cards in one block, written once.
func (blk *Block) touchAlert(a *Alert) {
	if blk.alerts == nil {
		blk.alerts = map[ledger.Hash]*Alert{}
	}
	blk.alerts[a.ID] = a
}

// flushAlerts writes the alerts this block changed, in id order.
func (blk *Block) flushAlerts() error {
	ids := slices.Collect(maps.Keys(blk.alerts))
	slices.SortFunc(ids, func(x, y ledger.Hash) int { return bytes.Compare(x[:], y[:]) })
	for _, id := range ids {
		a := blk.alerts[id]
		if err := blk.set(store.AlertKey(id), encodeAlert(a)); err != nil {
			return err
		}
		for i := a.stored; i < len(a.Records); i++ {
			if err := blk.set(store.AlertRecordKey(id, uint8(i)), a.Records[i][:]); err != nil {
				return err
			}
		}
		a.stored = len(a.Records)
	}
	return nil
}

// alertAction takes an alert a step further: by an investigator (the
// assignee, once assigned) or the chain authority, as alertNext allows.
func (blk *Block) alertAction(tx *ledger.Tx, id ledger.Hash, b *ledger.AlertAction) error {
	signer := tx.Sigs[0].Key
	role, _, err := RoleOf(blk.b, &blk.m.gen, signer)
	if err != nil {
		return err
	}
	if role != ledger.RoleInvestigator && role != "authority" {
		return reject(CodeWrongSigner, "signature", "an alert is handled by an investigator (the CDC)")
	}
	a, ok, err := blk.alert(b.Alert)
	if err != nil {
		return err
	}
	if !ok {
		return reject(CodeInvalid, "alert", "no alert %s on this chain", b.Alert.String()[:16])
	}
	if a.Assignee != ([32]byte{}) && signer != a.Assignee && role != "authority" {
		return reject(CodeWrongSigner, "signature", "the alert is assigned to another investigator")
	}
	next, ok := alertNext[a.Status][b.Action]
	if !ok {
		return reject(CodeConflict, "action", "an alert in %s cannot be taken to %s", a.Status, b.Action)
	}
	if b.Action == ledger.AlertVerify {
		if r, _, err := RoleOf(blk.b, &blk.m.gen, b.Assignee); err != nil {
			return err
		} else if r != ledger.RoleInvestigator {
			return reject(CodeInvalid, "assignee", "the assignee holds no investigator's role")
		}
		a.Assignee = b.Assignee
	}
	if a.FirstResponse == 0 {
		a.FirstResponse = blk.now
	}
	a.Status, a.Updated, a.LastAction = next, blk.now, id
	return nil
}

// siteCluster runs a site-cluster rule for card: the sites its patient was
// at (the mobility ledger's presences on this chain) within the rule's
// days are noted with the card; a site where as many patients of the
// disease were within those days as the rule's cases raises the rule's
// alert for the site and day, naming their cards.
func (blk *Block) siteCluster(r *Rule, card ledger.Hash, f *ledger.CardFields, day uint32) error {
	days := uint32(r.Days)
	if days > day+1 {
		return nil
	}
	from := int64(day+1-days)*86400 - DayOffset
	to := int64(day+1)*86400 - DayOffset - 1
	lo, hi := store.PersonRange(f.Patient, from, to)
	type visit struct{ site, day uint32 }
	var visits []visit
	err := blk.b.Scan(lo, hi, func(k, v []byte) bool {
		var p Presence
		if DecodePresenceInto(v, &p) == nil && p.Visible() && p.Site != 0 {
			visits = append(visits, visit{p.Site, DayOf(p.In)}) // an encounter or a refused record does not count
		}
		return true
	})
	if err != nil {
		return err
	}
	at := map[uint32]bool{}
	for _, v := range visits {
		if err := blk.set(store.SiteCaseKey(v.site, v.day, f.Patient), card[:]); err != nil {
			return err
		}
		at[v.site] = true
	}
	for _, site := range slices.Sorted(maps.Keys(at)) {
		patients := map[ledger.Pseudonym]ledger.Hash{}
		lo, hi := store.SiteCaseRange(site, day+1-days, day)
		if err := blk.b.Scan(lo, hi, func(k, v []byte) bool {
			patients[ledger.Pseudonym(k[len(k)-32:])] = ledger.Hash(v)
			return uint32(len(patients)) < max(r.Cases, MaxClusterFound) // enough to alarm: no more reading
		}); err != nil {
			return err
		}
		if uint32(len(patients)) < r.Cases {
			continue
		}
		s, err := blk.m.SiteByNum(blk.b, site)
		if err != nil {
			return err
		}
		var cards []ledger.Hash
		for _, c := range patients {
			cards = append(cards, c)
		}
		slices.SortFunc(cards, func(x, y ledger.Hash) int { return bytes.Compare(x[:], y[:]) })
		if err := blk.raiseAtSite(r, s, day, cards, uint32(len(patients))); err != nil {
			return err
		}
	}
	return nil
}

// raiseAtSite records a site-cluster rule's alert for site s on day.
func (blk *Block) raiseAtSite(r *Rule, s *Site, day uint32, cards []ledger.Hash, observed uint32) error {
	id := AlertID(r.Name, "site "+s.ID, day)
	reg := s.Region
	if _, err := region.Parse(reg); err != nil || reg == "" {
		reg = blk.m.gen.Region
	}
	a, ok, err := blk.alert(id)
	if err != nil {
		return err
	}
	if !ok {
		a = &Alert{ID: id, Rule: r.Name, Method: r.Method, Disease: r.Disease, Region: reg, Site: s.ID, Day: day, Level: r.Level,
			Raised: blk.now, Height: blk.height, Status: AlertSignal}
		if err := blk.putIntel(&IntelEntry{Tx: id, Time: blk.now, Dimension: "epidemic", Secrecy: "internal", Region: reg, Level: r.Level,
			Involved: observed, Origin: blk.m.gen.ChainID, OriginTx: id}); err != nil {
			return err
		}
	}
	for _, c := range cards {
		if len(a.Records) < MaxAlertRecords && !slices.Contains(a.Records, c) {
			a.Records = append(a.Records, c)
		}
	}
	a.Observed, a.Upper = observed, int64(r.Cases-1)*int64(detect.One)
	blk.touchAlert(a)
	return nil
}

// spaceTime runs a space-time rule for card, which has a place: the
// cards of the disease counted within the rule's days whose places lie
// within its distance of card's are its neighbours; as many as the
// rule's cases (card among them) raise an alert, or add to the one that
// already names a neighbour (a growing cluster stays one alert).
func (blk *Block) spaceTime(r *Rule, card ledger.Hash, f *ledger.CardFields, day uint32) error {
	days, meters := uint32(r.Days), int64(r.Meters)
	if days > day+1 {
		return nil
	}
	centre := f.Place.Point()
	// The tiles that may hold a place within meters: a degree of
	// latitude is 111,195 m, one of longitude that times the cosine,
	// which at the far edge may be smaller (hence the margin of a cell).
	dLat := int32(meters*100/111195) + 1
	edge := min(90e6, abs64(centre.LatE6)+int64(dLat)*1e4)
	wide := geo.Meters(geo.Point{LatE6: edge}, geo.Point{LatE6: edge, LonE6: 1e6}) // one degree of longitude there
	dLon := int32(18000)
	if wide > 0 {
		dLon = int32(min(18000, meters*100/wide+1))
	}
	type near struct {
		card ledger.Hash
		day  uint32
	}
	var found []near
	// Bounded work per card, whatever a place's density: enough
	// neighbours to alarm (and to name), or so many places read, end it.
	enough, read := max(r.Cases, MaxClusterFound), 0
	for tl := store.TileOf(f.Place.Lat - dLat); tl <= store.TileOf(f.Place.Lat+dLat) && read < MaxClusterRead; tl++ {
		for tn := store.TileOf(f.Place.Lon - dLon); tn <= store.TileOf(f.Place.Lon+dLon) && read < MaxClusterRead; tn++ {
			lo, hi := store.CardPlaceRange(f.Disease, tl, tn, day+1-days, day)
			err := blk.b.Scan(lo, hi, func(k, v []byte) bool {
				read++
				if len(v) != 8 {
					return true
				}
				p := ledger.Cell{Lat: int32(binary.BigEndian.Uint32(v)), Lon: int32(binary.BigEndian.Uint32(v[4:]))}
				if geo.Meters(centre, p.Point()) <= meters {
					found = append(found, near{ledger.Hash(k[len(k)-32:]), binary.BigEndian.Uint32(k[len(k)-36:])})
				}
				return uint32(len(found)) < enough && read < MaxClusterRead
			})
			if err != nil {
				return err
			}
		}
	}
	if uint32(len(found)) < r.Cases {
		return nil
	}
	// The earliest neighbours first: an open alert naming one is the
	// cluster's.
	slices.SortFunc(found, func(x, y near) int {
		if x.day != y.day {
			return cmp.Compare(x.day, y.day)
		}
		return bytes.Compare(x.card[:], y.card[:])
	})
	var a *Alert
	for _, n := range found {
		v, ok, err := blk.b.Get(store.ClusterCardKey(r.Name, n.card))
		if err != nil {
			return err
		}
		if !ok || len(v) != 32 {
			continue
		}
		prev, ok, err := blk.alert(ledger.Hash(v))
		if err != nil {
			return err
		}
		if ok && prev.Status != AlertDiscarded && prev.Status != AlertClosed {
			a = prev
			break
		}
	}
	if a == nil {
		where := "near " + f.Place.String()
		id := AlertID(r.Name, where, day)
		var ok bool
		var err error
		if a, ok, err = blk.alert(id); err != nil {
			return err
		}
		if !ok {
			a = &Alert{ID: id, Rule: r.Name, Method: r.Method, Disease: r.Disease, Region: f.Home, Site: where, Day: day, Level: r.Level,
				Raised: blk.now, Height: blk.height, Status: AlertSignal}
			if err := blk.putIntel(&IntelEntry{Tx: id, Time: blk.now, Dimension: "epidemic", Secrecy: "internal", Region: f.Home, Level: r.Level,
				Involved: uint32(len(found)), Origin: blk.m.gen.ChainID, OriginTx: id}); err != nil {
				return err
			}
		}
	}
	for _, n := range found {
		if len(a.Records) >= MaxAlertRecords || slices.Contains(a.Records, n.card) {
			continue
		}
		a.Records = append(a.Records, n.card)
		if err := blk.set(store.ClusterCardKey(r.Name, n.card), a.ID[:]); err != nil {
			return err
		}
	}
	a.Observed, a.Upper = max(a.Observed, uint32(len(found))), int64(r.Cases-1)*int64(detect.One)
	blk.touchAlert(a)
	return nil
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
