package state

import (
	"encoding/binary"
	"fmt"
	"maps"
	"slices"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/store"
)

// Hospitals' needs, and charities' allocations weighed against them
// (issue 17, docs/SUPPLY.md). In January 2020 a Wuhan fever-clinic
// hospital pleaded for masks and had received 3,000 N95s while a hospital
// that took no fever patients received 16,000: here the ledger shows each
// hospital's declared need beside what charities allocated it, and flags
// an allocation to a hospital beyond its declared need, or to one that is
// no fever clinic while a fever clinic's critical or urgent need of the
// product is unmet.

// Need is a hospital's declared need of a product, and what charities
// have allocated it.
type Need struct {
	GTIN        string
	Hospital    [32]byte
	Units       uint32 // declared (0: none, or withdrawn)
	Urgency     string
	FeverClinic bool
	Declared    ledger.Hash // the declaration (zero: none)
	Allocated   uint64      // units charities shipped it
}

// Allocation flag kinds.
const (
	FlagNoNeed      = "no-declared-need"
	FlagOverNeed    = "over-need"
	FlagFeverUnmet  = "fever-clinic-unmet"
	maxAllocFlags   = 255
	needRecordBytes = 4 + 1 + 32 + 8
)

// AllocFlag is a flag on a charity's allocation (a shipment).
type AllocFlag struct {
	Shipment ledger.Hash
	Height   uint64 // the shipment's block
	Kind     string
	GTIN     string
	Detail   string
}

func encodeNeed(n *Need) []byte {
	var x w
	x.u32(n.Units)
	x.str(n.Urgency)
	fc := uint8(0)
	if n.FeverClinic {
		fc = 1
	}
	x.u8(fc)
	x.raw(n.Declared[:])
	x.i64(int64(n.Allocated))
	return x.b
}

func decodeNeed(gtin string, hospital [32]byte, v []byte) (Need, error) {
	x := r2(v)
	n := Need{GTIN: gtin, Hospital: hospital, Units: x.u32(), Urgency: x.str(), FeverClinic: x.u8() == 1}
	copy(n.Declared[:], x.take(32))
	n.Allocated = uint64(x.i64())
	return n, x.err("need")
}

// Needs returns the needs of gtin (and the allocations to hospitals that
// declared none), by hospital key.
func Needs(rd store.Reader, gtin string) ([]Need, error) {
	lo, hi := store.NeedRange(gtin)
	var out []Need
	var derr error
	err := rd.Scan(lo, hi, func(k, v []byte) bool {
		if len(k) != len(lo)+32 {
			derr = fmt.Errorf("%w: a need", store.ErrCorrupt)
			return false
		}
		var n Need
		if n, derr = decodeNeed(gtin, [32]byte(k[len(lo):]), v); derr != nil {
			return false
		}
		out = append(out, n)
		return true
	})
	if err == nil {
		err = derr
	}
	return out, err
}

// MaxAllocFlags bounds the flags one read returns (the first).
const MaxAllocFlags = 1000

// AllocFlags returns the flags on charities' allocations of product gtin,
// by block (then shipment), at most MaxAllocFlags: a read costs the
// product's flags, never every product's.
func AllocFlags(rd store.Reader, gtin string) ([]AllocFlag, error) {
	lo, hi := store.AllocFlagRange(gtin)
	var out []AllocFlag
	var derr error
	err := rd.Scan(lo, hi, func(k, v []byte) bool {
		if len(k) != len(lo)+8+32+1 {
			derr = fmt.Errorf("%w: an allocation flag", store.ErrCorrupt)
			return false
		}
		x := r2(v)
		f := AllocFlag{Shipment: ledger.Hash(k[len(lo)+8 : len(lo)+40]), Height: binary.BigEndian.Uint64(k[len(lo):]), GTIN: gtin, Kind: x.str(), Detail: x.str()}
		if derr = x.err("allocation flag"); derr != nil {
			return false
		}
		out = append(out, f)
		return len(out) < MaxAllocFlags
	})
	if err == nil {
		err = derr
	}
	return out, err
}

func (blk *Block) need(gtin string, hospital [32]byte) (Need, error) {
	v, ok, err := blk.b.Get(store.NeedKey(gtin, hospital))
	if err != nil || !ok {
		return Need{GTIN: gtin, Hospital: hospital}, err
	}
	return decodeNeed(gtin, hospital, v)
}

// supplyNeed keeps a hospital's declared need.
func (blk *Block) supplyNeed(tx *ledger.Tx, id ledger.Hash, b *ledger.SupplyNeed) error {
	signer := tx.Sigs[0].Key
	role, err := blk.roleIn(signer)
	if err != nil {
		return err
	}
	if role != ledger.RoleHospital && role != "authority" {
		return reject(CodeWrongSigner, "signature", "needs are declared by a hospital")
	}
	n, err := blk.need(b.GTIN, signer)
	if err != nil {
		return err
	}
	n.Units, n.Urgency, n.FeverClinic, n.Declared = b.Units, b.Urgency, b.FeverClinic, id
	return blk.set(store.NeedKey(b.GTIN, signer), encodeNeed(&n))
}

// weighAllocation weighs a charity's shipment to a hospital against the
// declared needs, after the shipment was planned: its units are added to
// the hospital's allocated ones, and a flag is kept for each rule broken.
func (blk *Block) weighAllocation(id ledger.Hash, to [32]byte, items []ledger.SupplyItem) error {
	units := map[string]uint64{}
	for _, it := range items {
		if !it.IsSSCC() { // a logistic unit names no product
			units[it.GTIN] += uint64(it.Qty)
		}
	}
	var flags []AllocFlag
	for _, gtin := range slices.Sorted(maps.Keys(units)) {
		u := units[gtin]
		n, err := blk.need(gtin, to)
		if err != nil {
			return err
		}
		n.Allocated += u
		switch {
		case n.Units == 0:
			flags = append(flags, AllocFlag{Kind: FlagNoNeed, GTIN: gtin, Detail: fmt.Sprintf("%d unit(s) to a hospital that declared no need of the product", u)})
		case n.Allocated > uint64(n.Units):
			flags = append(flags, AllocFlag{Kind: FlagOverNeed, GTIN: gtin, Detail: fmt.Sprintf("%d unit(s) allocated in all, %d needed", n.Allocated, n.Units)})
		}
		if !n.FeverClinic {
			all, err := Needs(blk.b, gtin)
			if err != nil {
				return err
			}
			for _, o := range all {
				if o.FeverClinic && o.Hospital != to && o.Units > 0 && o.Urgency != "normal" && o.Allocated < uint64(o.Units) {
					flags = append(flags, AllocFlag{Kind: FlagFeverUnmet, GTIN: gtin,
						Detail: fmt.Sprintf("a designated fever clinic's %s need is unmet: %d of %d unit(s) allocated", o.Urgency, o.Allocated, o.Units)})
					break
				}
			}
		}
		if err := blk.set(store.NeedKey(gtin, to), encodeNeed(&n)); err != nil {
			return err
		}
	}
	for i, f := range flags[:min(len(flags), maxAllocFlags)] {
		var x w
		x.str(f.Kind)
		x.str(f.Detail)
		if err := blk.set(store.AllocFlagKey(f.GTIN, blk.height, id, uint8(i)), x.b); err != nil {
			return err
		}
	}
	return nil
}
