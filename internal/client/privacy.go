package client

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/privacy"
)

// The privacy roles (docs/PRIVACY.md), each talking to the node only
// through its API: the administrator (the authority's token) starts a
// session and decrypts the result, each participant (its session token)
// answers with its visits, the cloud (its session token) multiplies the
// uploads; devices commit their visits and check their own exposure.

// As returns a client for the same node that authenticates with token
// (a session credential, or "" for none). It does not batch submissions.
func (c *Client) As(token string) *Client {
	return &Client{base: c.base, token: token, hc: c.hc}
}

// pollWait is the long-poll each waiting request asks for.
const pollWait = 10 * time.Second

// poll repeats a waiting GET until ready reports true or ctx ends.
func (c *Client) poll(ctx context.Context, path string, out any, ready func() bool) error {
	for {
		if err := c.do(ctx, "GET", path+"?wait="+pollWait.String(), nil, out); err != nil {
			return err
		}
		if ready() {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

func sessionPath(id string, rest string) string {
	return "/v1/privacy/sessions/" + url.PathEscape(id) + rest
}

// PublishUniverse publishes a universe of places (authority).
func (c *Client) PublishUniverse(ctx context.Context, req api.UniverseRequest) (*api.UniverseInfo, error) {
	var out api.UniverseInfo
	return &out, c.do(ctx, "POST", "/v1/privacy/universes", req, &out)
}

// Universe fetches a published universe and checks its digest.
func (c *Client) Universe(ctx context.Context, name string) (*privacy.Universe, error) {
	var info api.UniverseInfo
	if err := c.do(ctx, "GET", "/v1/privacy/universes/"+url.PathEscape(name), nil, &info); err != nil {
		return nil, err
	}
	period, err := time.ParseDuration(info.Period)
	if err != nil {
		return nil, fmt.Errorf("universe %s: period: %w", name, err)
	}
	u, err := privacy.NewUniverse(info.Name, period, info.Places)
	if err != nil {
		return nil, fmt.Errorf("universe %s: %w", name, err)
	}
	if d := u.Digest(); hex.EncodeToString(d[:]) != info.Digest {
		return nil, fmt.Errorf("universe %s: the node's digest does not match its places", name)
	}
	return u, nil
}

// Session fetches a session's parameters and progress.
func (c *Client) Session(ctx context.Context, id string) (*api.SessionInfo, error) {
	var out api.SessionInfo
	return &out, c.do(ctx, "GET", sessionPath(id, ""), nil, &out)
}

func unb64(field, s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("node sent a bad %s: not base64", field)
	}
	return b, nil
}

// sessionParams rebuilds and validates a session's parameters from the
// node's description, against the universe the caller fetched.
func sessionParams(info *api.SessionInfo, u *privacy.Universe) (*privacy.Params, error) {
	op, err := privacy.ParseOp(info.Op)
	if err != nil {
		return nil, err
	}
	p := &privacy.Params{Session: info.Session, Op: op, Universe: u.Digest(), Places: len(u.Places), Participants: info.Participants, Shares: info.Shares}
	if hex.EncodeToString(p.Universe[:]) != info.UniverseDigest || info.Places != len(u.Places) {
		return nil, errors.New("the session's universe digest does not match the published universe")
	}
	kb, err := unb64("key", info.Key)
	if err != nil {
		return nil, err
	}
	if p.Key, err = privacy.ParsePublicKey(kb); err != nil {
		return nil, fmt.Errorf("session key: %w", err)
	}
	cb, err := unb64("enc_e", info.EncE)
	if err != nil {
		return nil, err
	}
	if p.EncE, err = privacy.ParseCiphertext(cb); err != nil {
		return nil, fmt.Errorf("session enc_e: %w", err)
	}
	pb, err := unb64("proof", info.Proof)
	if err != nil {
		return nil, err
	}
	if p.Proof, err = privacy.ParseProof(pb); err != nil {
		return nil, fmt.Errorf("session proof: %w", err)
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("the session's request does not verify: %w", err)
	}
	return p, nil
}

func peerKeys(ps []api.PeerInfo) ([]privacy.PeerKeys, error) {
	out := make([]privacy.PeerKeys, len(ps))
	for i, p := range ps {
		dh, err := unb64("peer key", p.DH)
		if err != nil {
			return nil, err
		}
		sign, err := unb64("peer key", p.Sign)
		if err != nil {
			return nil, err
		}
		out[i] = privacy.PeerKeys{DH: dh, Sign: sign}
	}
	return out, nil
}

// NewSessionID returns a random session id.
func NewSessionID() string {
	var b [8]byte
	rand.Read(b[:])
	return "psu-" + hex.EncodeToString(b[:])
}

// StartSession is the administrator's step 3: it encrypts the identity
// under sk, proves it, and asks the node to record the request and issue
// credentials for n participants (shares 0: every vector is split among
// all of them) and the cloud.
func StartSession(ctx context.Context, c *Client, sk *privacy.SecretKey, universe string, op privacy.Op, n, shares int) (*api.SessionCreated, error) {
	u, err := c.Universe(ctx, universe)
	if err != nil {
		return nil, err
	}
	if shares == 0 {
		shares = n
	}
	p := &privacy.Params{Session: NewSessionID(), Op: op, Universe: u.Digest(), Places: len(u.Places), Participants: n, Shares: shares}
	if err := sk.NewRequest(p, nil); err != nil {
		return nil, err
	}
	enc := base64.StdEncoding.EncodeToString
	var out api.SessionCreated
	return &out, c.do(ctx, "POST", "/v1/privacy/sessions", api.SessionRequest{Session: p.Session, Op: op.String(), Universe: universe,
		Participants: n, Shares: shares, Key: enc(p.Key.Bytes()), EncE: enc(p.EncE.Bytes()), Proof: enc(p.Proof.Bytes())}, &out)
}

// ParticipantReport says what a participant did.
type ParticipantReport struct {
	Index    int
	Places   int
	Visited  int
	Shares   int           // shares sent (and received)
	Duration time.Duration // own computation only (not waiting)
}

// Participate runs participant c's side of session id (step 4): it
// verifies the request, joins with fresh keys, seals its shares to the
// others, multiplies its kept share with the shares it receives and
// uploads the signed product. visits are places of the universe
// (duplicates are fine).
func Participate(ctx context.Context, c *Client, id string, visits []string) (*ParticipantReport, error) {
	info, err := c.Session(ctx, id)
	if err != nil {
		return nil, err
	}
	if info.Index == nil {
		return nil, errors.New("this token is not a participant's")
	}
	u, err := c.Universe(ctx, info.Universe)
	if err != nil {
		return nil, err
	}
	p, err := sessionParams(info, u)
	if err != nil {
		return nil, err
	}
	flags, err := u.Flags("visits", visits)
	if err != nil {
		return nil, err
	}
	rep := &ParticipantReport{Index: *info.Index, Places: len(flags), Visited: len(u.Names(flags)), Shares: p.Shares - 1}
	t0 := time.Now()
	pp, err := privacy.NewParticipant(p, *info.Index, flags, nil)
	if err != nil {
		return nil, err
	}
	rep.Duration += time.Since(t0)
	enc := base64.StdEncoding.EncodeToString
	k := pp.Keys()
	if err := c.do(ctx, "POST", sessionPath(id, "/join"), api.JoinRequest{DH: enc(k.DH), Sign: enc(k.Sign)}, nil); err != nil {
		return nil, err
	}
	var pr api.PeersReply
	if err := c.poll(ctx, sessionPath(id, "/peers"), &pr, func() bool { return pr.Ready }); err != nil {
		return nil, err
	}
	peers, err := peerKeys(pr.Peers)
	if err != nil {
		return nil, err
	}
	t0 = time.Now()
	sealed, err := pp.Shares(peers)
	if err != nil {
		return nil, err
	}
	rep.Duration += time.Since(t0)
	req := api.SharesRequest{Shares: []api.ShareOut{}}
	for _, s := range sealed {
		req.Shares = append(req.Shares, api.ShareOut{To: s.To, Box: enc(s.Box)})
	}
	if err := c.do(ctx, "POST", sessionPath(id, "/shares"), req, nil); err != nil {
		return nil, err
	}
	var ib api.InboxReply
	if err := c.poll(ctx, sessionPath(id, "/shares"), &ib, func() bool { return ib.Ready }); err != nil {
		return nil, err
	}
	in := make([]privacy.SealedShare, len(ib.Shares))
	for i, s := range ib.Shares {
		box, err := unb64("share", s.Box)
		if err != nil {
			return nil, err
		}
		in[i] = privacy.SealedShare{From: s.From, To: *info.Index, Box: box}
	}
	t0 = time.Now()
	up, err := pp.Upload(peers, in)
	if err != nil {
		return nil, err
	}
	rep.Duration += time.Since(t0)
	if err := c.do(ctx, "POST", sessionPath(id, "/upload"), api.UploadRequest{Vector: enc(up.Vector), Sig: enc(up.Sig)}, nil); err != nil {
		return nil, err
	}
	return rep, nil
}

func uploadsOf(rep *api.UploadsReply) ([]privacy.Upload, []privacy.PeerKeys, error) {
	peers, err := peerKeys(rep.Peers)
	if err != nil {
		return nil, nil, err
	}
	ups := make([]privacy.Upload, len(rep.Uploads))
	for i, u := range rep.Uploads {
		v, err := unb64("upload", u.Vector)
		if err != nil {
			return nil, nil, err
		}
		s, err := unb64("upload signature", u.Sig)
		if err != nil {
			return nil, nil, err
		}
		ups[i] = privacy.Upload{From: u.From, Vector: v, Sig: s}
	}
	return ups, peers, nil
}

// sessionAndUniverse fetches a session and its universe and rebuilds its
// parameters.
func sessionAndUniverse(ctx context.Context, c *Client, id string) (*api.SessionInfo, *privacy.Universe, *privacy.Params, error) {
	info, err := c.Session(ctx, id)
	if err != nil {
		return nil, nil, nil, err
	}
	u, err := c.Universe(ctx, info.Universe)
	if err != nil {
		return nil, nil, nil, err
	}
	p, err := sessionParams(info, u)
	return info, u, p, err
}

// RunCloud is the cloud's step 5 for session id: it waits for every
// upload, checks each (signature, encoding), multiplies them and posts
// the product. It returns its own computation time.
func RunCloud(ctx context.Context, c *Client, id string) (time.Duration, error) {
	_, _, p, err := sessionAndUniverse(ctx, c, id)
	if err != nil {
		return 0, err
	}
	var rep api.UploadsReply
	if err := c.poll(ctx, sessionPath(id, "/uploads"), &rep, func() bool { return rep.Ready }); err != nil {
		return 0, err
	}
	ups, peers, err := uploadsOf(&rep)
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	prod, err := privacy.Combine(p, peers, ups)
	if err != nil {
		return 0, err
	}
	d := time.Since(t0)
	return d, c.do(ctx, "POST", sessionPath(id, "/product"), api.ProductRequest{Vector: base64.StdEncoding.EncodeToString(prod.Bytes())}, nil)
}

// SetOpResult is a finished session's result.
type SetOpResult struct {
	Session string
	Op      string
	Result  []string
	Tx      string
	Compute time.Duration // the administrator's audit and decryption
}

// FinishSession is the administrator's step 6 for session id: it waits for
// the cloud's product, audits it against the signed uploads at audit
// random places (every place if audit <= 0; see privacy.Audit), naming a
// tampered upload or place, decrypts it with sk and publishes the result
// on the ledger.
func FinishSession(ctx context.Context, c *Client, sk *privacy.SecretKey, id string, audit int) (*SetOpResult, error) {
	_, u, p, err := sessionAndUniverse(ctx, c, id)
	if err != nil {
		return nil, err
	}
	if string(p.Key.Bytes()) != string(sk.Public().Bytes()) {
		return nil, errors.New("this key did not start the session")
	}
	var pr api.ProductReply
	if err := c.poll(ctx, sessionPath(id, "/product"), &pr, func() bool { return pr.Ready }); err != nil {
		return nil, err
	}
	var ur api.UploadsReply
	if err := c.do(ctx, "GET", sessionPath(id, "/uploads"), nil, &ur); err != nil {
		return nil, err
	}
	ups, peers, err := uploadsOf(&ur)
	if err != nil {
		return nil, err
	}
	prod, err := unb64("product", pr.Vector)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	vec, err := privacy.Audit(p, peers, ups, prod, audit)
	if err != nil {
		return nil, err
	}
	in, err := sk.Members(p, vec)
	if err != nil {
		return nil, err
	}
	d := time.Since(t0)
	var rr api.ResultReply
	if err := c.do(ctx, "POST", sessionPath(id, "/result"), api.ResultRequest{Result: u.Names(in)}, &rr); err != nil {
		return nil, err
	}
	return &SetOpResult{Session: id, Op: rr.Op, Result: rr.Result, Tx: rr.Tx, Compute: d}, nil
}

// RunReport is a whole run's result and timings.
type RunReport struct {
	*SetOpResult
	Universe     string
	Places       int
	Participants int
	Total        time.Duration   // start of the session to the published result
	Participant  []time.Duration // each participant's own computation
	Cloud        time.Duration
}

// RunSetOp runs every role of one session through the node behind c
// (which holds the authority's token): it publishes the places as a new
// universe, starts a session, runs each participant and the cloud
// concurrently with their own credentials, and finishes it.
func RunSetOp(ctx context.Context, c *Client, op privacy.Op, places []string, visits [][]string, shares int) (*RunReport, error) {
	name := "run-" + NewSessionID()[4:]
	if _, err := c.PublishUniverse(ctx, api.UniverseRequest{Name: name, Places: places}); err != nil {
		return nil, fmt.Errorf("universe: %w", err)
	}
	sk, err := privacy.GenerateKey(nil)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	created, err := StartSession(ctx, c, sk, name, op, len(visits), shares)
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rep := &RunReport{Universe: name, Places: len(places), Participants: len(visits), Participant: make([]time.Duration, len(visits))}
	var wg sync.WaitGroup
	errs := make([]error, len(visits)+1)
	for i, v := range visits {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pr, err := Participate(ctx, c.As(created.ParticipantTokens[i]), created.Session, v)
			if err != nil {
				errs[i] = fmt.Errorf("participant %d: %w", i, err)
				cancel()
				return
			}
			rep.Participant[i] = pr.Duration
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		d, err := RunCloud(ctx, c.As(created.CloudToken), created.Session)
		if err != nil {
			errs[len(visits)] = fmt.Errorf("cloud: %w", err)
			cancel()
		}
		rep.Cloud = d
	}()
	res, ferr := FinishSession(ctx, c, sk, created.Session, privacy.DefaultAudit)
	wg.Wait()
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return nil, err
		}
	}
	if ferr != nil {
		return nil, fmt.Errorf("administrator: %w", ferr)
	}
	rep.SetOpResult, rep.Total = res, time.Since(t0)
	return rep, nil
}

// ---- committed visit records

// UploadCommitment uploads a device's signed commitment record.
func (c *Client) UploadCommitment(ctx context.Context, universe string, rec *privacy.CommitRecord) error {
	enc := base64.StdEncoding.EncodeToString
	return c.do(ctx, "POST", "/v1/privacy/commitments", api.CommitmentUpload{Universe: universe, Period: time.Unix(rec.Period, 0).UTC().Format(time.RFC3339),
		Device: enc(rec.Device), Commitment: enc(rec.C[:]), Sig: enc(rec.Sig)}, nil)
}

// Anchor puts a period's commitment root on the ledger (authority).
func (c *Client) Anchor(ctx context.Context, universe string, period int64) (*api.AnchorReply, error) {
	var out api.AnchorReply
	return &out, c.do(ctx, "POST", "/v1/privacy/commitments/anchor", api.AnchorRequest{Universe: universe, Period: time.Unix(period, 0).UTC().Format(time.RFC3339)}, &out)
}

// CommitmentProof fetches a device's stored commitment with its
// inclusion proof.
func (c *Client) CommitmentProof(ctx context.Context, req api.ProofRequest) (*api.CommitmentProof, error) {
	var out api.CommitmentProof
	return &out, c.do(ctx, "POST", "/v1/privacy/commitments/proof", req, &out)
}

// VerifyOpening checks a case's opening (authority).
func (c *Client) VerifyOpening(ctx context.Context, req api.OpeningRequest) (*api.OpeningReply, error) {
	var out api.OpeningReply
	return &out, c.do(ctx, "POST", "/v1/privacy/commitments/verify", req, &out)
}

// OpeningRequest builds the request for a device's opening of [from, to).
func OpeningRequest(d *privacy.Device, u *privacy.Universe, from, to int64) (*api.OpeningRequest, error) {
	o, _, err := d.Open(u, from, to)
	if err != nil {
		return nil, err
	}
	pub, err := d.Public()
	if err != nil {
		return nil, err
	}
	req := &api.OpeningRequest{Universe: u.Name, Device: base64.StdEncoding.EncodeToString(pub), From: time.Unix(from, 0).UTC().Format(time.RFC3339),
		To: time.Unix(to, 0).UTC().Format(time.RFC3339), Counts: map[string]uint32{}, R: base64.StdEncoding.EncodeToString(privacy.EncodeR(o.R))}
	for i, n := range o.Counts {
		if n > 0 {
			req.Counts[u.Places[i]] = n
		}
	}
	return req, nil
}

// ---- the exposure check

// PublishRisk publishes the risk visits (authority).
func (c *Client) PublishRisk(ctx context.Context, visits []api.RiskVisit) (*api.RiskInfo, error) {
	var out api.RiskInfo
	return &out, c.do(ctx, "POST", "/v1/privacy/risk", api.RiskRequest{Visits: visits}, &out)
}

// Exposure is a device's exposure check: for each of its visits, whether
// it matches a risk visit.
type Exposure struct {
	Version int      `json:"version"`
	Tokens  int      `json:"risk_tokens"`
	Checked int      `json:"checked"`
	Matches []string `json:"matches"` // "site @ slot start" of each matching visit
	Hits    []bool   `json:"-"`       // per visit
}

// CheckExposure plays the device: it downloads the risk tokens (checking
// their digest), blinds its own visits, has the node raise them to its
// key (checking the proof), unblinds and compares. The node learns how
// many visits were checked, nothing else.
func CheckExposure(ctx context.Context, c *Client, visits []privacy.Visit) (*Exposure, error) {
	var info api.RiskInfo
	if err := c.do(ctx, "GET", "/v1/privacy/risk", nil, &info); err != nil {
		return nil, err
	}
	tokens, err := unb64("tokens", info.Tokens)
	if err != nil {
		return nil, err
	}
	if d := sha256.Sum256(tokens); hex.EncodeToString(d[:]) != info.Digest {
		return nil, errors.New("the risk tokens do not match their digest")
	}
	if err := privacy.CheckTokens(tokens); err != nil {
		return nil, err
	}
	key, err := unb64("key", info.Key)
	if err != nil {
		return nil, err
	}
	out := &Exposure{Version: int(info.Version), Tokens: info.Count, Checked: len(visits), Matches: []string{}}
	if info.Version == 0 {
		// Nothing was ever published: no hour can match, and none is sent.
		out.Hits = make([]bool, len(visits))
		return out, nil
	}
	for lo := 0; lo < len(visits); lo += api.MaxEvaluate {
		hi := min(lo+api.MaxEvaluate, len(visits))
		bl, blinded, err := privacy.Blind(visits[lo:hi], nil)
		if err != nil {
			return nil, err
		}
		var ev api.EvaluateReply
		if err := c.do(ctx, "POST", "/v1/privacy/risk/evaluate", api.EvaluateRequest{Blinded: base64.StdEncoding.EncodeToString(blinded)}, &ev); err != nil {
			return nil, err
		}
		evaluated, err := unb64("evaluated", ev.Evaluated)
		if err != nil {
			return nil, err
		}
		pb, err := unb64("proof", ev.Proof)
		if err != nil {
			return nil, err
		}
		proof, err := privacy.ParseProof(pb)
		if err != nil {
			return nil, err
		}
		hits, err := bl.Finish(key, evaluated, proof, tokens)
		if err != nil {
			return nil, err
		}
		out.Hits = append(out.Hits, hits...)
	}
	for i, h := range out.Hits {
		if h {
			out.Matches = append(out.Matches, fmt.Sprintf("%s @ %s", visits[i].Site, time.Unix(visits[i].Slot, 0).UTC().Format(time.RFC3339)))
		}
	}
	return out, nil
}
