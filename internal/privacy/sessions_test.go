package privacy

import (
	"context"
	"crypto/ed25519"
	"errors"
	"testing"
	"time"
)

// TestPostUploadNamesElement: a correctly signed upload with a malformed
// element is refused at the node, naming the element and its half.
func TestPostUploadNamesElement(t *testing.T) {
	t.Parallel()
	_, p := testParams(t, Union, 3, 1, 1)
	ss := NewSessions()
	if _, _, err := ss.Create(p, SessionInfo{}); err != nil {
		t.Fatal(err)
	}
	pp, _ := NewParticipant(p, 0, []bool{true, false, true}, nil)
	if err := ss.Join(p.Session, 0, pp.Keys()); err != nil {
		t.Fatal(err)
	}
	up, err := pp.Upload([]PeerKeys{pp.Keys()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	good := *up
	up.Vector = append([]byte(nil), up.Vector...)
	up.Vector[2*CiphertextSize+ElementSize] |= 1 // place 2, c2: a negative field element
	up.Sig = ed25519.Sign(pp.keys.sign, uploadMessage(p, 0, up.Vector))
	err = ss.PostUpload(p.Session, up)
	var ie *InputError
	var ee *ElementError
	if !errors.As(err, &ie) || ie.Field != "vector" || !errors.As(err, &ee) || ee.Index != 2 || ee.Part != "c2" {
		t.Fatalf("got %v", err)
	}
	if err := ss.PostUpload(p.Session, &good); err != nil {
		t.Fatal(err)
	}
	if err := ss.PostUpload(p.Session, &good); !errors.Is(err, ErrConflict) {
		t.Errorf("second upload: %v", err)
	}
	ups, _, ready, err := ss.Uploads(context.Background(), p.Session, 0)
	if !ready || err != nil || len(ups) != 1 {
		t.Errorf("uploads: %v %v", ready, err)
	}
}

// TestSessionsWaitAndExpire: a reader waiting for a step wakes when it
// completes; sessions expire after their TTL with their tokens.
func TestSessionsWaitAndExpire(t *testing.T) {
	t.Parallel()
	_, p := testParams(t, Union, 2, 2, 2)
	ss := NewSessions()
	now := time.Unix(1000, 0)
	ss.Now = func() time.Time { return now }
	toks, cloud, err := ss.Create(p, SessionInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := ss.Authenticate(toks[1]); !ok || c.Role != RoleParticipant || c.Index != 1 {
		t.Fatalf("participant token: %+v", c)
	}
	if c, ok := ss.Authenticate(cloud); !ok || c.Role != RoleCloud {
		t.Fatalf("cloud token: %+v", c)
	}
	done := make(chan bool)
	go func() {
		_, _, ready, _ := ss.Peers(context.Background(), p.Session, 5*time.Second)
		done <- ready
	}()
	for i := 0; i < 2; i++ {
		pp, _ := NewParticipant(p, i, []bool{true, false}, nil)
		if err := ss.Join(p.Session, i, pp.Keys()); err != nil {
			t.Fatal(err)
		}
	}
	if !<-done {
		t.Fatal("waiter not woken when all joined")
	}
	now = now.Add(2 * time.Hour)
	if _, ok := ss.Authenticate(toks[0]); ok {
		t.Error("token of an expired session still accepted")
	}
	ss.expire()
	if _, ok := ss.Authenticate(toks[0]); ok {
		t.Error("token of an expired session still accepted")
	}
	if _, err := ss.View(p.Session); !errors.Is(err, ErrNoSession) {
		t.Errorf("expired session: %v", err)
	}
}
