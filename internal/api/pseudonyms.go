package api

import (
	"fmt"
	"math"
	"net/http"
	"sync"
	"time"
)

// MaxPseudonyms is the most references one POST /v1/pseudonyms may carry.
// With references of at most 128 bytes (record.MaxRefLen), even escaped,
// a full batch fits the route's body limit (MediumBody).
const MaxPseudonyms = 1000

// PseudonymsRequest carries person references ("id:...", "phone:...").
type PseudonymsRequest struct {
	Refs []string `json:"refs"`
}

// Pseudonym is the ledger form of one reference: its pseudonym (64 hex
// digits) and whether it is an alias (bound to a person by an identity
// record) rather than a canonical id.
type Pseudonym struct {
	Pseudonym string `json:"pseudonym"`
	Alias     bool   `json:"alias"`
}

// PseudonymsReply holds one Pseudonym per reference, in request order.
type PseudonymsReply struct {
	Pseudonyms []Pseudonym `json:"pseudonyms"`
}

// The quota of POST /v1/pseudonyms: a site's or a hospital's key may send
// at most PseudonymQuota distinct canonical ids ("id:" references) in
// PseudonymWindow, each of which may add one entry to the vault, and the
// blinded elements of POST /v1/pseudonyms/oblivious draw from the same
// bucket (every element counts there: see oblivious). It counts
// what the requests name, not what the vault lacked: counting only new
// entries would tell a key that had used up its quota whether an id is
// known (refused if new, served if held). A key may use the whole quota
// at once (a day's import) and gets it back evenly over the window. The
// administrator and the chain authority, who may store sealed ids with
// PUT /v1/vault anyway, have none. Kept in memory: a restart gives every
// key its whole quota back.
const (
	PseudonymQuota  = 100000
	PseudonymWindow = 24 * time.Hour
)

// idQuota is a token bucket per key: limit tokens, refilled evenly over
// window.
type idQuota struct {
	limit  float64
	window time.Duration
	mu     sync.Mutex
	keys   map[[32]byte]*idBucket
}

type idBucket struct {
	tokens float64
	at     time.Time
}

func newIDQuota(limit int, window time.Duration) *idQuota {
	return &idQuota{limit: float64(limit), window: window, keys: map[[32]byte]*idBucket{}}
}

// take takes n tokens of key's bucket at now, or none and a 429 naming
// field, the limit in units (what the route counts, with note) and when
// n will be available.
func (q *idQuota) take(key [32]byte, n int, now time.Time, field, units, note string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	b := q.keys[key]
	if b == nil {
		b = &idBucket{tokens: q.limit, at: now}
		q.keys[key] = b
	}
	if d := now.Sub(b.at); d > 0 {
		b.tokens = math.Min(q.limit, b.tokens+q.limit*d.Seconds()/q.window.Seconds())
		b.at = now
	}
	if float64(n) <= b.tokens {
		b.tokens -= float64(n)
		return nil
	}
	wait := (time.Duration((float64(n)-b.tokens)/q.limit*float64(q.window)) + time.Second - 1).Truncate(time.Second)
	e := errf(http.StatusTooManyRequests, "quota", field,
		"quota: a key may send at most %d %s in %s (%s); %d are left and this request holds %d: retry in %s",
		int(q.limit), units, windowText(q.window), note, int(b.tokens), n, wait)
	e.RetryAfter = wait
	return e
}

// windowText is a window in words: "24h" rather than "24h0m0s".
func windowText(d time.Duration) string {
	if d >= time.Hour && d%time.Hour == 0 {
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return d.String()
}

// pseudonyms answers the pseudonyms of the references a site or a
// hospital is about to record, so that it needs no secret of the
// authority's (issue 12): the node computes them with its home's secret
// and seals each canonical id it does not hold yet into its vault,
// recording which key had it sealed (node.PseudonymsBy). The answer is a
// function of the references alone (not of the ledger), and the node does
// the same work whether or not its vault held them, so it tells the
// caller nothing about anyone but what it sent; a pseudonym is of use
// only to those who read the ledger. A malformed reference is a 400
// naming refs[i]; a site's or a hospital's key over its quota gets a 429
// naming refs (idQuota); no message repeats a reference (nor does the
// log: serve logs no bodies).
func (s *Server) pseudonyms(r *http.Request) (any, error) {
	var req PseudonymsRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if len(req.Refs) == 0 {
		return nil, errf(http.StatusBadRequest, "invalid", "refs", "required: 1 to %d person references", MaxPseudonyms)
	}
	if len(req.Refs) > MaxPseudonyms {
		return nil, errf(http.StatusBadRequest, "invalid", "refs", "more than %d references in one request", MaxPseudonyms)
	}
	p := principalOf(r)
	var admit func(int) error
	if p.writes() {
		admit = func(ids int) error {
			return s.ids.take(p.Key, ids, time.Now(), "refs", "distinct id: references",
				"known to the vault or not, and blinded elements sent to POST /v1/pseudonyms/oblivious")
		}
	}
	ps, err := s.n.PseudonymsBy(p.Key, "refs", req.Refs, admit)
	if err != nil {
		return nil, err
	}
	out := PseudonymsReply{Pseudonyms: make([]Pseudonym, len(ps))}
	for i, p := range ps {
		out.Pseudonyms[i] = Pseudonym{Pseudonym: p.Ref.String(), Alias: p.Alias}
	}
	return out, nil
}
