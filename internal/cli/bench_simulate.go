package cli

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	fp "path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/epiledger/epiledger/internal/client"
	"github.com/epiledger/epiledger/internal/engine"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/ledger"
)

// A simulated hierarchy (issue 15, "as large as this machine holds"): one
// national chain, P provinces, C cities and D districts, all solo chains
// in this process, each serving its API on loopback, with intelligence
// flowing up: every round each district submits an endorsed intelligence
// record and confirms its digest; each level anchors its head into its
// parent, a relay carries the confirmations up as intel_summary
// transactions, and the parent's N2 confirms them in turn, up to the
// national chain. It measures what the national chain pays: bytes on disk
// per round, per anchor and per digest, and from those, per day.

// simShape parses --simulate P,C,D: provinces, cities and districts in
// all, each a multiple of the level above.
func simShape(s string) ([3]int, error) {
	var n [3]int
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return n, errors.New("--simulate: want PROVINCES,CITIES,DISTRICTS, e.g. 4,16,64")
	}
	for i, p := range parts {
		v, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || v < 1 || v > 512 {
			return n, fmt.Errorf("--simulate: %q: want a whole number from 1 to 512", p)
		}
		n[i] = v
	}
	if n[1]%n[0] != 0 || n[2]%n[1] != 0 || n[0] > 88 || n[1]/n[0] > 99 || n[2]/n[1] > 99 {
		return n, errors.New("--simulate: each level a multiple of the one above (at most 88 provinces, 99 cities a province, 99 districts a city)")
	}
	return n, nil
}

// simChain is a chain of the simulated hierarchy.
type simChain struct {
	name, region string
	parent       int // index into the chains; -1 for the national chain
	level        int // 0 national, 1 province, 2 city, 3 district
	h            *home.Home
	own, relay   *client.Client // the authority's client; the relay key's
	n2, n3       ed25519.PrivateKey
}

func (e *env) benchHierarchySim(dir string, shape [3]int, rounds int) error {
	quiet := *e
	quiet.stdout = io.Discard
	r := &hierarchyRun{e: &quiet, dir: dir, urls: map[string]string{}, homes: map[string]string{}, keys: map[string]string{}}
	defer func() {
		for i := len(r.stops) - 1; i >= 0; i-- {
			r.stops[i]()
		}
	}()
	chains := []*simChain{{name: "national", region: "000000", parent: -1}}
	first := []int{0, 0, 0, 0} // first chain index of each level
	for lvl := 1; lvl <= 3; lvl++ {
		first[lvl] = len(chains)
		per := shape[lvl-1] / max(1, len(chains)-first[lvl-1])
		if lvl == 1 {
			per = shape[0]
		}
		for p := first[lvl-1]; p < first[lvl]; p++ {
			for k := 0; k < per; k++ {
				var code string
				switch lvl {
				case 1:
					code = fmt.Sprintf("%02d0000", 11+k)
				case 2:
					code = fmt.Sprintf("%s%02d00", chains[p].region[:2], 1+k)
				default:
					code = fmt.Sprintf("%s%02d", chains[p].region[:4], 1+k)
				}
				chains = append(chains, &simChain{name: "r" + code, region: code, parent: p, level: lvl})
			}
		}
	}
	fmt.Fprintf(e.stderr, "starting %d chains (1 national, %d provinces, %d cities, %d districts)\n", len(chains), shape[0], shape[1], shape[2])
	if _, err := r.keygen("relay"); err != nil {
		return err
	}
	relayKey, err := home.LoadKeyFile(r.keys["relay"])
	if err != nil {
		return err
	}
	var rp [32]byte
	copy(rp[:], relayKey.Public().(ed25519.PublicKey))
	ctx, cancel := context.WithTimeout(e.ctx, 6*time.Hour)
	defer cancel()
	for i, c := range chains {
		if err := r.start(ScenarioChain{Name: c.name, Region: c.region}); err != nil {
			return err
		}
		if c.h, err = home.Load(r.homes[c.name]); err != nil {
			return err
		}
		c.own = client.New(r.urls[c.name], "")
		c.own.Key, c.own.ChainID = c.h.Authority(), c.h.Genesis.ChainID
		c.relay = client.New(r.urls[c.name], "")
		c.relay.Key, c.relay.ChainID = relayKey, c.h.Genesis.ChainID
		grants := []*ledger.GrantRole{{Key: rp, Role: ledger.RoleRelay, Name: "relay"}, c.newKey(&c.n2, ledger.RoleN2, "health commission")}
		if c.level == 3 {
			grants = append(grants, c.newKey(&c.n3, ledger.RoleN3, "epidemic team"))
		}
		for _, g := range grants {
			if err := c.submit(ctx, g); err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
		}
		if c.parent >= 0 {
			if _, err := r.run("child", "register", "--home", r.homes[chains[c.parent].name], "--node", r.urls[chains[c.parent].name],
				"--genesis", fp.Join(r.homes[c.name], "genesis.json")); err != nil {
				return fmt.Errorf("registering %s: %w", c.name, err)
			}
		}
		if (i+1)%20 == 0 {
			fmt.Fprintf(e.stderr, "%d/%d chains\n", i+1, len(chains))
		}
	}
	nat := chains[0]
	before := storeBytes(nat.h)
	var anchorBytes, digestBytes, anchors, digests int
	var anchorDisk, digestDisk int64 // the national store's growth across each submission
	start := time.Now()
	for round := 0; round < rounds; round++ {
		// pending[i]: the confirmations on chain i that go up next.
		pending := map[int][]string{}
		for i := first[3]; i < len(chains); i++ {
			c := chains[i]
			rec := &ledger.Intel{Dimension: "epidemic", Level: uint8(1 + (round+i)%4), Secrecy: "internal", Time: time.Now().Add(-time.Minute).Unix(),
				Region: c.region, Place: "simulated site", Involved: 40, Confirmed: uint32(1 + i%9), Suspected: 3,
				Facts: "simulated cluster", Topics: []string{"simulation"}, Endorsements: 1}
			tx := ledger.NewTx(rec)
			tx.Sign(c.h.Genesis.ChainID, c.n3)
			tx.Sign(c.h.Genesis.ChainID, c.n2)
			if _, err := c.own.SubmitOne(ctx, tx.Bytes()); err != nil {
				return fmt.Errorf("%s: the record: %w", c.name, err)
			}
			d := ledger.IntelDigest{Origin: c.h.Genesis.ChainID, Record: tx.ID(), Time: rec.Time, Region: rec.Region, Dimension: rec.Dimension,
				Level: rec.Level, Secrecy: rec.Secrecy, Involved: rec.Involved, Confirmed: rec.Confirmed, Suspected: rec.Suspected}
			id, err := c.confirm(ctx, tx.ID(), d)
			if err != nil {
				return err
			}
			pending[i] = append(pending[i], id)
		}
		for lvl := 3; lvl >= 1; lvl-- {
			// Each chain of the level anchors its head into its parent;
			// then the relay carries its confirmations up, a batch per
			// parent (one block or few), and the parent's N2 confirms them
			// in a batch in turn.
			up := map[int][][]byte{}
			var parents []int
			for i := first[lvl]; i < len(chains) && chains[i].level == lvl; i++ {
				c, pi := chains[i], chains[i].parent
				p := chains[pi]
				st, err := c.own.Status(ctx)
				if err != nil {
					return err
				}
				b0 := storeBytes(p.h)
				hdr, _, err := anchorBlock(ctx, c.h, c.own, p.own, p.h.Genesis.ChainID, st.Height)
				if err != nil {
					return fmt.Errorf("%s -> %s: %w", c.name, p.name, err)
				}
				if p == nat {
					anchorDisk += storeBytes(p.h) - b0
					a := ledger.NewTx(ledger.AnchorOf(hdr))
					a.Sign(p.h.Genesis.ChainID, c.h.Authority())
					anchors++
					anchorBytes += len(a.Bytes())
				}
				if _, seen := up[pi]; !seen {
					parents = append(parents, pi)
				}
				for _, id := range pending[i] {
					b, err := e.intelSummaryOf(ctx, c.relay, p.relay, c.h.Genesis.ChainID, id)
					if err != nil {
						return fmt.Errorf("%s -> %s: %w", c.name, p.name, err)
					}
					tx := ledger.NewTx(b)
					tx.Sign(p.h.Genesis.ChainID, relayKey)
					up[pi] = append(up[pi], tx.Bytes())
				}
			}
			for _, pi := range parents {
				p := chains[pi]
				b0 := storeBytes(p.h)
				rcs, err := submitAll(p.relay, up[pi])
				if err != nil {
					return fmt.Errorf("carrying into %s: %w", p.name, err)
				}
				if p == nat {
					digestDisk += storeBytes(p.h) - b0
					for _, raw := range up[pi] {
						digests++
						digestBytes += len(raw)
					}
					continue
				}
				// The parent's N2 confirms each for the level above: the
				// same digest (an internal record's is not redacted).
				confirms := make([][]byte, len(rcs))
				for k, rc := range rcs {
					t, err := ledger.DecodeTx(up[pi][k])
					if err != nil {
						return err
					}
					inner, err := unwrapDigest(t.Body.(*ledger.IntelSummary))
					if err != nil {
						return err
					}
					confirms[k] = p.confirmTx(rc.TxID, inner)
				}
				rcs, err = submitAll(p.own, confirms)
				if err != nil {
					return fmt.Errorf("%s: confirming: %w", p.name, err)
				}
				for _, rc := range rcs {
					pending[pi] = append(pending[pi], rc.TxID.String())
				}
			}
		}
		fmt.Fprintf(e.stderr, "round %d/%d: %d anchors and %d digests on the national chain so far\n", round+1, rounds, anchors, digests)
	}
	elapsed := time.Since(start)
	after := storeBytes(nat.h)
	disk := float64(after - before)
	perAnchor, perDigest := float64(anchorDisk)/float64(max(1, anchors)), float64(digestDisk)/float64(max(1, digests))
	fmt.Fprintf(e.stdout, "simulated hierarchy: 1 national, %d provinces, %d cities, %d districts (%d chains in this process), %d rounds in %s\n",
		shape[0], shape[1], shape[2], len(chains), rounds, elapsed.Round(time.Millisecond))
	fmt.Fprintf(e.stdout, "each round: every district submits an endorsed intelligence record and confirms its digest; each level anchors its head and carries the digests up, its N2 confirming each\n")
	fmt.Fprintf(e.stdout, "national chain: %d anchors (%.0f bytes each as transactions), %d digests (%.0f bytes each), %.0f bytes on disk in all (tables and log, before compaction)\n",
		anchors, float64(anchorBytes)/float64(max(1, anchors)), digests, float64(digestBytes)/float64(max(1, digests)), disk)
	fmt.Fprintf(e.stdout, "national chain: %.0f bytes on disk per anchor, %.0f per digest (the store's growth across each submission), %.0f per round\n",
		perAnchor, perDigest, disk/float64(rounds))
	const anchorsPerDay, digestsPerDistrict = 86400 / 10, 24
	day := float64(shape[0])*anchorsPerDay*perAnchor + float64(shape[2])*digestsPerDistrict*perDigest
	fmt.Fprintf(e.stdout, "per day, each province anchoring every 10 s and each district confirming %d records a day (all carried to the nation): %.1f MB on the national chain\n",
		digestsPerDistrict, day/1e6)
	return nil
}

// submit signs b as c's authority and commits it on c.
func (c *simChain) submit(ctx context.Context, b ledger.Body) error {
	tx := ledger.NewTx(b)
	tx.Sign(c.h.Genesis.ChainID, c.h.Authority())
	_, err := c.own.SubmitOne(ctx, tx.Bytes())
	return err
}

// newKey makes *k a new key and returns the grant of role to it.
func (c *simChain) newKey(k *ed25519.PrivateKey, role, name string) *ledger.GrantRole {
	_, *k, _ = ed25519.GenerateKey(nil)
	g := &ledger.GrantRole{Role: role, Name: name}
	copy(g.Key[:], k.Public().(ed25519.PublicKey))
	return g
}

// confirmTx is c's N2's confirmation of entry of for the level above.
func (c *simChain) confirmTx(of ledger.Hash, d ledger.IntelDigest) []byte {
	tx := ledger.NewTx(&ledger.IntelConfirm{Of: of, Digest: d.Redacted(c.region)})
	tx.Sign(c.h.Genesis.ChainID, c.n2)
	return tx.Bytes()
}

// confirm commits c's N2's confirmation of entry of and returns its id.
func (c *simChain) confirm(ctx context.Context, of ledger.Hash, d ledger.IntelDigest) (string, error) {
	res, err := c.own.SubmitOne(ctx, c.confirmTx(of, d))
	if err != nil {
		return "", fmt.Errorf("%s: confirming: %w", c.name, err)
	}
	return res.Tx, nil
}

// submitAll commits txs through cl in one request (one block, or a few)
// and returns their receipts in order; any refusal is an error.
func submitAll(cl *client.Client, txs [][]byte) ([]engine.Receipt, error) {
	rcs := make([]engine.Receipt, len(txs))
	for i, raw := range txs {
		if err := cl.SubmitAsync(raw, func(rc engine.Receipt) { rcs[i] = rc }); err != nil {
			return nil, err
		}
	}
	if err := cl.Flush(); err != nil {
		return nil, err
	}
	for i, rc := range rcs {
		if rc.Err != nil {
			return nil, fmt.Errorf("transaction %d of %d: %w", i+1, len(txs), rc.Err)
		}
	}
	return rcs, nil
}

// unwrapDigest is the digest an intel_summary carries.
func unwrapDigest(b *ledger.IntelSummary) (ledger.IntelDigest, error) {
	t, err := ledger.DecodeTx(b.Tx)
	if err != nil {
		return ledger.IntelDigest{}, err
	}
	c, ok := t.Body.(*ledger.IntelConfirm)
	if !ok {
		return ledger.IntelDigest{}, fmt.Errorf("the summary carries a %s", t.Body.Kind())
	}
	return c.Digest, nil
}
