package privacy

import (
	"crypto/ed25519"
	"errors"
	"os"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	t.Parallel()
	now := time.Unix(0, 0)
	l := NewLimiter(1, 10)
	l.Now = func() time.Time { return now }
	if ok, _ := l.Allow("a", 10); !ok {
		t.Fatal("a full bucket refused its burst")
	}
	if ok, retry := l.Allow("a", 3); ok || retry != 3*time.Second {
		t.Fatalf("empty bucket: ok %v, retry %v", ok, retry)
	}
	if ok, _ := l.Allow("b", 5); !ok {
		t.Fatal("another client is limited by the first")
	}
	now = now.Add(3 * time.Second)
	if ok, _ := l.Allow("a", 3); !ok {
		t.Fatal("refilled bucket refused")
	}
	if ok, _ := l.Allow("a", 11); ok {
		t.Fatal("more than the burst allowed")
	}
}

// TestCommitStore: records are durable, one per device and period; a torn
// last record (a crash mid-append) is dropped; sealing stops uploads.
func TestCommitStore(t *testing.T) {
	t.Parallel()
	u, err := NewUniverse("city", time.Hour, []string{"a", "b", "c"})
	if err != nil {
		t.Fatal(err)
	}
	gs := NewGenerators(u.Digest(), 3)
	dir := t.TempDir()
	cs := NewCommitStore(dir)
	var devs []*Device
	for i := 0; i < 3; i++ {
		d, _ := NewDevice(u, nil)
		devs = append(devs, d)
		rec, err := d.Commit(u, gs, 3600, []string{"a"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := rec.Check(u.Digest()); err != nil {
			t.Fatal(err)
		}
		if err := cs.Add(u, rec); err != nil {
			t.Fatal(err)
		}
		if err := cs.Add(u, rec); !errors.Is(err, ErrConflict) {
			t.Fatalf("duplicate: %v", err)
		}
	}
	// A crash mid-append leaves half a record.
	f, _ := os.OpenFile(cs.PeriodFile(u, 3600), os.O_WRONLY|os.O_APPEND, 0)
	f.Write(make([]byte, RecordSize/2))
	f.Close()
	cs = NewCommitStore(dir) // a restart
	recs, err := cs.Sorted(u, 3600)
	if err != nil || len(recs) != 3 {
		t.Fatalf("after a torn write: %d records, %v", len(recs), err)
	}
	d, _ := NewDevice(u, nil)
	rec, _ := d.Commit(u, gs, 3600, nil, nil)
	if err := cs.Add(u, rec); err != nil {
		t.Fatalf("append after a torn write: %v", err)
	}
	sealed, release, err := cs.Seal(u, 3600)
	if err != nil || len(sealed) != 4 {
		t.Fatalf("seal: %d %v", len(sealed), err)
	}
	d2, _ := NewDevice(u, nil)
	rec2, _ := d2.Commit(u, gs, 3600, nil, nil)
	if err := cs.Add(u, rec2); !errors.Is(err, ErrSealed) {
		t.Fatalf("upload to a sealed period: %v", err)
	}
	release(false)
	if err := cs.Add(u, rec2); err != nil {
		t.Fatalf("upload after a failed anchoring: %v", err)
	}
	pub, _ := devs[1].Public()
	recs, i, err := cs.Find(u, 3600, pub)
	if err != nil || i < 0 || !ed25519.PublicKey(recs[i].Device).Equal(pub) {
		t.Fatalf("find: %d %v", i, err)
	}
	// A forged signature is refused by Check.
	rec2.Sig[0] ^= 1
	if err := rec2.Check(u.Digest()); !errors.Is(err, ErrSignature) {
		t.Errorf("forged record: %v", err)
	}
}

// TestDeviceOpen: a device's opening covers exactly the periods of the
// window, counts visits per place and matches its commitments.
func TestDeviceOpen(t *testing.T) {
	t.Parallel()
	u, _ := NewUniverse("town", time.Hour, []string{"a", "b", "c"})
	gs := NewGenerators(u.Digest(), 3)
	d, _ := NewDevice(u, nil)
	var cs []Commitment
	for h, v := range [][]string{{"a"}, {}, {"a", "b", "b"}, {"c"}} {
		rec, err := d.Commit(u, gs, int64(h)*3600, v, nil)
		if err != nil {
			t.Fatal(err)
		}
		if h < 3 {
			cs = append(cs, rec.C)
		}
	}
	if _, err := d.Commit(u, gs, 0, nil, nil); err == nil {
		t.Error("a period committed twice")
	}
	if _, err := d.Commit(u, gs, 1800, nil, nil); err == nil {
		t.Error("an unaligned period accepted")
	}
	o, periods, err := d.Open(u, 0, 3*3600)
	if err != nil {
		t.Fatal(err)
	}
	if len(periods) != 3 || o.Counts[0] != 2 || o.Counts[1] != 1 || o.Counts[2] != 0 {
		t.Fatalf("opening: %v %v", periods, o.Counts)
	}
	if _, _, err := gs.Check(cs, o); err != nil {
		t.Fatal(err)
	}
	other, _ := NewUniverse("town2", time.Hour, []string{"a", "b", "c"})
	if _, _, err := d.Open(other, 0, 3600); err == nil {
		t.Error("opened against another universe")
	}
}
