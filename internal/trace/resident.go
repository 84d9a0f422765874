package trace

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"sync"
	"time"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/timeline"
)

// contactRow is a contact before it is a Contact: small, so that sorting
// thousands of them moves little. The other's record is oref: for a
// visit the timeline's entry (its full id read from the store only for
// the answer, View.TxIDs), for an encounter its index in the case's
// encounters; otx8 is its first 8 bytes, which almost always order it.
// For a visit, p indexes the case's visits.
type contactRow struct {
	f, t      int64
	otx8      uint64
	srank     int32 // the site's (or device's) rank in id order
	pj        int32 // the other person's index in the persons met
	other     int32
	sj        int32 // the site's index in the sites met
	p         int32
	oref      int32
	strs      timeline.StringsRef
	encounter bool
}

// siteMet is a site a contact query met, with what its rows need.
type siteMet struct {
	num       uint32
	id, kind  string
	transport bool
}

// met is a person a contact query met: who, and how many rows.
type met struct{ p, count int32 }

// contactScratch is memory a contact query reuses: its rows, and a
// table from person number to index in the persons met (valid where it
// holds the query's stamp, so it is never cleared; stamp and index side
// by side, one cache line a lookup).
type contactScratch struct {
	rows       []contactRow
	ps         []met
	pseuds     []ledger.Pseudonym
	keys, tmp  []uint64
	stamp      int32
	at         []seenAt
	order      []int32
	start, end []int32
	counts     []int32
}

var contactScratches = sync.Pool{New: func() any { return &contactScratch{} }}

// begin starts a query over n persons.
func (s *contactScratch) begin(n int) {
	if len(s.at) < n || s.stamp == math.MaxInt32 {
		s.at = make([]seenAt, n)
		s.stamp = 0
	}
	s.stamp++
}

// seenAt is a person's index among the persons met, if stamp is the
// query's.
type seenAt struct{ stamp, j int32 }

func (s *contactScratch) get(p int32) (int32, bool) {
	if a := s.at[p]; a.stamp == s.stamp {
		return a.j, true
	}
	return 0, false
}

func (s *contactScratch) set(p, j int32) { s.at[p] = seenAt{s.stamp, j} }

// residentContacts is Contacts read from a resident timeline: the same
// ranges, from memory. Rows are gathered small, put in order by a
// counting sort on the other person's rank and a short sort within each
// person, and only then made Contacts.
func (q *Querier) residentContacts(v *timeline.View, person ledger.Pseudonym, from, to, min int64) ([]Contact, error) {
	pn, ok := v.Number(person)
	if !ok {
		return nil, nil // no visit, no encounter
	}
	sc := contactScratches.Get().(*contactScratch)
	defer contactScratches.Put(sc)
	cq := &contactQuery{q: q, v: v, pn: pn, from: from, to: to, min: min, rows: sc.rows[:0], sj: map[uint32]int32{}}
	defer func() { sc.rows = cq.rows[:0] }()
	if err := cq.gather(); err != nil || len(cq.rows) == 0 {
		return nil, err
	}
	cq.rankSites()
	if err := cq.rankPersons(sc); err != nil {
		return nil, err
	}
	defer func() { sc.ps = cq.ps[:0] }()
	if err := cq.sortRows(sc); err != nil {
		return nil, err
	}
	return cq.contacts()
}

// contactQuery is the state of one residentContacts.
type contactQuery struct {
	q             *Querier
	v             *timeline.View
	pn            int32 // the case
	from, to, min int64
	rows          []contactRow
	sj            map[uint32]int32      // site number to index in sites
	sites         []siteMet             // the sites met, by sj
	byRank        []*siteMet            // the same, by id
	cases         []int32               // the case's visits' entries, by p
	encs          []timeline.Encounter  // the case's encounters (oref)
	full          map[int32]ledger.Hash // visits' full ids read for a tie
	err           error                 // the first error ordering rows
	ps            []met                 // the persons met, by j
	pseuds        []ledger.Pseudonym    // theirs, by j
	keys          []uint64              // their ranks: j in the low 20 bits, in pseudonym order
	order         []int32               // the rows in the answer's order
	start         []int32               // where each j's rows begin in order
}

// site returns the index of site num in the sites met, adding it.
func (cq *contactQuery) site(num uint32) (int32, error) {
	if j, ok := cq.sj[num]; ok {
		return j, nil
	}
	s, err := cq.q.Site(num)
	if err != nil {
		return 0, err
	}
	j := int32(len(cq.sites))
	cq.sj[num] = j
	cq.sites = append(cq.sites, siteMet{num: num, id: s.ID, kind: s.Kind, transport: cq.q.Transport(s.Kind)})
	return j, nil
}

// gather reads the case's visits, clipped, then the presences at each
// visit's site that meet it, then the case's encounters, as rows.
func (cq *contactQuery) gather() error {
	v, from, to := cq.v, cq.from, cq.to
	type visitAt struct {
		site      uint32
		sj        int32
		a, b      int64
		transport bool
	}
	var vs []visitAt
	var err error
	v.PersonVisits(cq.pn, from-int64(cq.q.rules.MaxPresence/time.Second), to, func(ref int32, p *timeline.Entry) bool {
		if !p.Visible() || p.Out() < from {
			return true
		}
		a, b := max(p.In, from), min2(p.Out(), to)
		if b < a {
			return true
		}
		var sj int32
		if sj, err = cq.site(p.Site); err != nil {
			return false
		}
		vs = append(vs, visitAt{site: p.Site, sj: sj, a: a, b: b, transport: cq.sites[sj].transport})
		cq.cases = append(cq.cases, ref)
		return true
	})
	if err != nil {
		return err
	}
	for xi, x := range vs {
		v.SiteVisits(x.site, x.a-v.Longest(x.site), x.b, func(oref int32, o *timeline.Entry) bool {
			if o.Person == cq.pn || !o.Visible() {
				return true
			}
			f, t := max(x.a, o.In), min2(x.b, o.Out())
			if x.transport && t > f || !x.transport && t-f >= cq.min && t > f {
				cq.rows = append(cq.rows, contactRow{f: f, t: t, other: o.Person, sj: x.sj, p: int32(xi), strs: o.Strings(), otx8: o.ID8, oref: oref})
			}
			return true
		})
	}
	encs := v.Encounters(cq.pn, from-state.MaxEncounter, to)
	cq.encs = encs
	for i := range encs {
		e := &encs[i]
		if !e.Visible() || e.End <= from || e.Start >= to {
			continue
		}
		sj, err := cq.site(e.Device)
		if err != nil {
			return err
		}
		cq.rows = append(cq.rows, contactRow{f: max(e.Start, from), t: min2(e.End, to), other: e.Other, sj: sj, encounter: true, otx8: timeline.ID8(&e.TxID), oref: int32(i)})
	}
	return nil
}

// rankSites orders the sites met by id.
func (cq *contactQuery) rankSites() {
	byRank := make([]*siteMet, len(cq.sites))
	for j := range cq.sites {
		byRank[j] = &cq.sites[j]
	}
	slices.SortFunc(byRank, func(a, b *siteMet) int { return cmp.Compare(a.id, b.id) })
	rank := make([]int32, len(cq.sites))
	for r, s := range byRank {
		rank[cq.sj[s.num]] = int32(r)
	}
	for i := range cq.rows {
		cq.rows[i].srank = rank[cq.rows[i].sj]
	}
	cq.byRank = byRank
}

// rankPersons numbers the persons met j in the order first met, then
// ranks them by pseudonym: sorted by their first 44 bits with j in the
// low 20, then runs that share those bits by the whole pseudonym.
func (cq *contactQuery) rankPersons(sc *contactScratch) error {
	sc.begin(cq.v.Persons())
	ps := sc.ps[:0]
	for i := range cq.rows {
		r := &cq.rows[i]
		j, ok := sc.get(r.other)
		if !ok {
			j = int32(len(ps))
			sc.set(r.other, j)
			ps = append(ps, met{p: r.other})
		}
		r.pj = j
		ps[j].count++
	}
	cq.ps = ps
	if len(ps) >= 1<<20 {
		return fmt.Errorf("trace: a contact query met %d persons, more than it can rank", len(ps))
	}
	// The pseudonyms, read in a loop of nothing else: their reads miss
	// the cache, and this way many are in flight at once.
	pseuds := grow(sc.pseuds, len(ps))
	sc.pseuds, cq.pseuds = pseuds, pseuds
	for j := range ps {
		pseuds[j] = cq.v.Pseudonym(ps[j].p)
	}
	keys := grow(sc.keys, len(ps))
	for j := range pseuds {
		keys[j] = binary.BigEndian.Uint64(pseuds[j][:8])>>20<<20 | uint64(j)
	}
	sc.tmp = grow(sc.tmp, len(ps))
	keys, sc.tmp = sortKeys(keys, sc.tmp, &sc.counts), keys
	sc.keys = keys
	for i := 0; i < len(keys); {
		k := i + 1
		for k < len(keys) && keys[k]>>20 == keys[i]>>20 {
			k++
		}
		if k-i > 1 {
			slices.SortFunc(keys[i:k], func(a, b uint64) int {
				return bytes.Compare(pseuds[a&(1<<20-1)][:], pseuds[b&(1<<20-1)][:])
			})
		}
		i = k
	}
	cq.keys = keys
	return nil
}

// grow returns s resized to n, reusing its array when it is large enough.
func grow[T any](s []T, n int) []T { return slices.Grow(s[:0], n)[:n] }

// sortKeys sorts keys into tmp (of the same length) and returns it;
// counts is scratch. The keys begin with keyed hashes, so they are
// spread evenly: a counting pass on their top bits leaves buckets of a
// key or two, each then put in order by insertion. That is linear time, where a comparison sort
// was the largest single cost of ranking the thousands of persons a
// query meets. A bucket that is not small (never, for hashes) is sorted
// by slices.Sort.
func sortKeys(keys, tmp []uint64, counts *[]int32) []uint64 {
	n := len(keys)
	if n < 64 {
		copy(tmp, keys)
		slices.Sort(tmp)
		return tmp
	}
	b := bits.Len(uint(n))
	shift := 64 - b
	count := grow(*counts, 1<<b+1)
	*counts = count
	clear(count)
	for _, k := range keys {
		count[k>>shift+1]++
	}
	for i := 1; i < len(count); i++ {
		count[i] += count[i-1]
	}
	for _, k := range keys {
		tmp[count[k>>shift]] = k
		count[k>>shift]++
	}
	lo := int32(0)
	for _, hi := range count[:1<<b] {
		if seg := tmp[lo:hi]; len(seg) > 16 {
			slices.Sort(seg)
		} else {
			for i := 1; i < len(seg); i++ {
				for k := i; k > 0 && seg[k] < seg[k-1]; k-- {
					seg[k], seg[k-1] = seg[k-1], seg[k]
				}
			}
		}
		lo = hi
	}
	return tmp
}

// sortRows puts the rows in the answer's order: a counting sort by person
// rank, then each person's rows by site, start, end and record ids (the
// other's, then the case's), as full ids order them (cmpIDs).
func (cq *contactQuery) sortRows(sc *contactScratch) error {
	rows, ps := cq.rows, cq.ps
	start, end := grow(sc.start, len(ps)), grow(sc.end, len(ps))
	sc.start, sc.end = start, end
	var n int32
	for _, k := range cq.keys {
		j := int32(k & (1<<20 - 1))
		start[j], end[j] = n, n
		n += ps[j].count
	}
	order := grow(sc.order, len(rows))
	sc.order = order
	for i := range rows {
		j := rows[i].pj
		order[end[j]] = int32(i)
		end[j]++
	}
	less := func(a, b *contactRow) bool {
		if a.srank != b.srank {
			return a.srank < b.srank
		}
		if a.f != b.f {
			return a.f < b.f
		}
		if a.t != b.t {
			return a.t < b.t
		}
		return cq.cmpIDs(a, b) < 0
	}
	for j := range ps {
		seg := order[start[j]:end[j]]
		if len(seg) < 16 {
			for i := 1; i < len(seg); i++ {
				for k := i; k > 0 && less(&rows[seg[k]], &rows[seg[k-1]]); k-- {
					seg[k], seg[k-1] = seg[k-1], seg[k]
				}
			}
			continue
		}
		slices.SortFunc(seg, func(a, b int32) int {
			if less(&rows[a], &rows[b]) {
				return -1
			}
			if less(&rows[b], &rows[a]) {
				return 1
			}
			return 0
		})
	}
	cq.order, cq.start = order, start
	return cq.err
}

// cmpIDs compares two rows by the other's record id, then the case's,
// as full ids: their first 8 bytes decide but for a tie between two
// records, when the full ids are read (timeline.CompareIDs). An error
// reading them is kept in cq.err (the order is then not used).
func (cq *contactQuery) cmpIDs(a, b *contactRow) int {
	if a.otx8 != b.otx8 {
		return cmp.Compare(a.otx8, b.otx8)
	}
	if a.encounter == b.encounter && a.oref == b.oref {
		// The same record: the case's decides.
		if a.encounter || a.p == b.p {
			return 0
		}
		return cq.cmpCase(a, b)
	}
	if c := cq.cmpBy(a.otx8, b.otx8, a, b, cq.otx); c != 0 {
		return c
	}
	return cq.cmpCase(a, b)
}

// cmpCase compares two rows by the case's record id.
func (cq *contactQuery) cmpCase(a, b *contactRow) int {
	if a.encounter && b.encounter && a.oref == b.oref || !a.encounter && !b.encounter && a.p == b.p {
		return 0
	}
	return cq.cmpBy(cq.caseTx8(a), cq.caseTx8(b), a, b, cq.caseTx)
}

// cmpBy compares rows a and b by the record id gives, knowing the first
// 8 bytes of each (timeline.CompareIDs). An error reading full ids is
// kept in cq.err (the order is then not used).
func (cq *contactQuery) cmpBy(a8, b8 uint64, a, b *contactRow, id func(*contactRow) (ledger.Hash, error)) int {
	c, err := timeline.CompareIDs(a8, b8, func() (x, y ledger.Hash, err error) {
		if x, err = id(a); err == nil {
			y, err = id(b)
		}
		return x, y, err
	})
	if err != nil {
		cq.fail(err)
		return 0
	}
	return c
}

func (cq *contactQuery) fail(err error) {
	if cq.err == nil {
		cq.err = err
	}
}

// fullTx is the full id of a visit's entry, read from the store once.
func (cq *contactQuery) fullTx(ref int32) (ledger.Hash, error) {
	if h, ok := cq.full[ref]; ok {
		return h, nil
	}
	h, err := cq.v.TxID(ref)
	if err != nil {
		return h, err
	}
	if cq.full == nil {
		cq.full = map[int32]ledger.Hash{}
	}
	cq.full[ref] = h
	return h, nil
}

// otx is the other's record of a row.
func (cq *contactQuery) otx(r *contactRow) (ledger.Hash, error) {
	if r.encounter {
		return cq.encs[r.oref].TxID, nil
	}
	return cq.fullTx(r.oref)
}

// caseTx8 is the first 8 bytes of the case's record of a row.
func (cq *contactQuery) caseTx8(r *contactRow) uint64 {
	if r.encounter {
		return r.otx8
	}
	return cq.v.Entry(cq.cases[r.p]).ID8
}

// caseTx is the case's record of a row.
func (cq *contactQuery) caseTx(r *contactRow) (ledger.Hash, error) {
	if r.encounter {
		return cq.encs[r.oref].TxID, nil
	}
	return cq.fullTx(cq.cases[r.p])
}

// contacts makes the rows Contacts, in order, a person at a time. The
// record ids of the visits are read from the store (View.TxIDs), all at
// once: the case's, then the others' in the order gathered, which is
// the site index's for each of the case's visits (what TxIDs reads
// fastest).
func (cq *contactQuery) contacts() ([]Contact, error) {
	refs := make([]int32, len(cq.cases)+len(cq.rows))
	copy(refs, cq.cases)
	for i := range cq.rows {
		if r := &cq.rows[i]; !r.encounter {
			refs[len(cq.cases)+i] = r.oref
		} else {
			refs[len(cq.cases)+i] = -1
		}
	}
	ids, err := cq.v.TxIDs(refs)
	if err != nil {
		return nil, err
	}
	caseTxs, otxs := ids[:len(cq.cases)], ids[len(cq.cases):]
	out := make([]Contact, len(cq.order))
	for _, key := range cq.keys {
		j := int32(key & (1<<20 - 1))
		pseud := &cq.pseuds[j]
		for i := cq.start[j]; i < cq.start[j]+cq.ps[j].count; i++ {
			r := &cq.rows[cq.order[i]]
			s := cq.byRank[r.srank]
			c := &out[i]
			c.Person, c.Site, c.From, c.To = *pseud, s.id, r.f, r.t
			if r.encounter {
				tx := cq.encs[r.oref].TxID
				c.SiteKind, c.Via, c.TxID, c.CaseTxID = EncounterKind, EncounterVia, tx, tx
				continue
			}
			c.TxID = otxs[cq.order[i]]
			c.SiteKind, c.CaseTxID = s.kind, caseTxs[r.p]
			c.Via, c.Role = cq.v.StringsOf(r.strs)
		}
	}
	return out, nil
}
