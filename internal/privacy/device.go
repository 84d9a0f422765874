package privacy

import (
	"cmp"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/oasisprotocol/curve25519-voi/curve/scalar"
)

// Device is a device's local record of its committed periods: what it
// needs to open its commitments later (the visited places and r of each
// period). It is the device's secret; it is stored on the device only.
// The JSON form is what `epiledger privacy device` keeps in its state file.
type Device struct {
	Version  int            `json:"version"`
	Key      string         `json:"key"` // Ed25519 seed, hex
	Universe string         `json:"universe"`
	Digest   string         `json:"digest"` // the universe's digest, hex
	Periods  []DevicePeriod `json:"periods"`
}

// DevicePeriod is one committed period.
type DevicePeriod struct {
	Period  int64  `json:"period"`
	Visited []int  `json:"visited"` // place indices
	R       string `json:"r"`       // hex
}

// NewDevice creates a device for universe u with a fresh key from rng
// (crypto/rand if nil).
func NewDevice(u *Universe, rng io.Reader) (*Device, error) {
	if rng == nil {
		rng = rand.Reader
	}
	seed := make([]byte, ed25519.SeedSize)
	if _, err := io.ReadFull(rng, seed); err != nil {
		return nil, err
	}
	d := u.Digest()
	return &Device{Version: 1, Key: hex.EncodeToString(seed), Universe: u.Name, Digest: hex.EncodeToString(d[:]), Periods: []DevicePeriod{}}, nil
}

func (d *Device) key() (ed25519.PrivateKey, error) {
	seed, err := hex.DecodeString(d.Key)
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, errors.New("device state: key is not a 32-byte hex seed")
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// Public returns the device's public key (its identity in the cloud).
func (d *Device) Public() (ed25519.PublicKey, error) {
	k, err := d.key()
	if err != nil {
		return nil, err
	}
	return k.Public().(ed25519.PublicKey), nil
}

func (d *Device) check(u *Universe) error {
	digest := u.Digest()
	if d.Universe != u.Name || d.Digest != hex.EncodeToString(digest[:]) {
		return fmt.Errorf("device state is for universe %q, not %q (or the universe changed)", d.Universe, u.Name)
	}
	return nil
}

// Commit commits to the places visited in period (an aligned period
// start) with fresh randomness, remembers the opening and returns the
// signed record to upload. An idle period (no places) is committed too.
func (d *Device) Commit(u *Universe, gs *Generators, period int64, visited []string, rng io.Reader) (*CommitRecord, error) {
	if err := d.check(u); err != nil {
		return nil, err
	}
	if err := u.CheckPeriod(period); err != nil {
		return nil, err
	}
	for _, p := range d.Periods {
		if p.Period == period {
			return nil, &ParamsError{"period", "already committed by this device"}
		}
	}
	flags, err := u.Flags("visits", visited)
	if err != nil {
		return nil, err
	}
	key, err := d.key()
	if err != nil {
		return nil, err
	}
	c, r, err := gs.Commit(flags, rng)
	if err != nil {
		return nil, err
	}
	var idx []int
	for i, b := range flags {
		if b {
			idx = append(idx, i)
		}
	}
	d.Periods = append(d.Periods, DevicePeriod{Period: period, Visited: idx, R: hex.EncodeToString(EncodeR(r))})
	slices.SortFunc(d.Periods, func(a, b DevicePeriod) int { return cmp.Compare(a.Period, b.Period) })
	digest := u.Digest()
	return &CommitRecord{Device: key.Public().(ed25519.PublicKey), Period: period, C: c, Sig: ed25519.Sign(key, CommitMessage(digest, period, c))}, nil
}

// Open returns the opening of the periods in [from, to): per-place visit
// counts and the sum of r, with the periods it covers.
func (d *Device) Open(u *Universe, from, to int64) (*Opening, []int64, error) {
	if err := d.check(u); err != nil {
		return nil, nil, err
	}
	o := &Opening{Counts: make([]uint32, len(u.Places))}
	var rs []*scalar.Scalar
	var periods []int64
	for _, p := range d.Periods {
		if p.Period < from || p.Period >= to {
			continue
		}
		for _, i := range p.Visited {
			if i < 0 || i >= len(o.Counts) {
				return nil, nil, fmt.Errorf("device state: period %d names place %d outside the universe", p.Period, i)
			}
			o.Counts[i]++
		}
		b, err := hex.DecodeString(p.R)
		if err != nil {
			return nil, nil, fmt.Errorf("device state: period %d: r is not hex", p.Period)
		}
		r, err := ParseR(b)
		if err != nil {
			return nil, nil, fmt.Errorf("device state: period %d: r: %w", p.Period, err)
		}
		rs = append(rs, r)
		periods = append(periods, p.Period)
	}
	o.R = SumR(rs)
	return o, periods, nil
}
